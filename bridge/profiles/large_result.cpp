#include "bridge/profiles/large_result.hpp"

#include "bridge/profiles/transfer_profile.hpp"
#include "xmpp/oob/string_source.hpp"

namespace xpmn::profiles {

void answer_result(boost::asio::io_context& io, const std::weak_ptr<bridge::OobLinks>& links,
                   const client::Peer& peer, client::IqResponder& responder, xml::Element result) {
    auto live = links.lock();
    if (!live || !live->ready(peer)) return responder.result(std::move(result));
    std::string document = result.to_string();
    if (document.size() <= kInlineResultMax) return responder.result(std::move(result));
    document.insert(0, "<?xml version='1.0' encoding='UTF-8'?>");
    const std::size_t size = document.size();
    auto id = live->send(peer, std::make_unique<oob::StringSource>(io, std::move(document)));
    if (!id) return responder.result(std::move(result));
    xml::Element oob("oob", ns_oob);
    oob.set_attr("id", *id);
    oob.set_attr("size", std::to_string(size));
    oob.set_attr("type", "text/xml");
    responder.result(std::move(oob));
}

}  // namespace xpmn::profiles
