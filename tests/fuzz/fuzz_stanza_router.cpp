// Fuzz target: the stanza router's dispatch of whatever a peer sends, with
// the usual handlers installed (disco#info/#items via serve_disco, ping, a
// handler that fails, one that drops its responder, one that answers later,
// presence and message listeners). The channel, the input format and the
// checks are channel_harness.hpp's.
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tests/fuzz/channel_harness.hpp"
#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"

using namespace xpmn;

namespace {

std::shared_ptr<void> install_handlers(boost::asio::io_context& io, client::StanzaRouter& router) {
    auto info = std::make_shared<disco::Info>();
    info->identities.push_back({"automation", "gateway", "", "xpmn-bridge"});
    info->features = {ns::disco_info, ns::ping};
    client::serve_disco(router, info);
    router.on_iq("get", ns::ping, "ping",
                 [](const client::Peer&, const xml::Element&, client::IqResponder r) { r.result(); });
    router.on_iq("set", "urn:xmpp:fuzz:0", "fail",
                 [](const client::Peer&, const xml::Element&, client::IqResponder r) {
                     r.error("bad-request", "always");
                 });
    router.on_iq("set", "urn:xmpp:fuzz:0", "drop", [](const client::Peer&, const xml::Element&, client::IqResponder) {});
    router.on_iq("get", "urn:xmpp:fuzz:0", "later",
                 [&io](const client::Peer&, const xml::Element& iq, client::IqResponder r) {
                     xml::Element payload("later", "urn:xmpp:fuzz:0");
                     payload.set_attr("echo", iq.attr_or("id"));
                     boost::asio::post(io, [r, payload]() mutable { r.result(std::move(payload)); });
                 });
    router.on_presence([](const xml::Element& p) { (void)p.attr_or("from"); });
    router.on_message([](const xml::Element& m) { (void)m.child_text("body", ns::client); });
    return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return fuzz::run_channel(data, size, install_handlers);
}
