#include "xmpp/client/disco_service.hpp"

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::client {

void serve_disco(StanzaRouter& router, std::shared_ptr<const disco::Info> info) {
    std::string ver_node = std::string(caps_node) + "#" + disco::caps_ver(*info);
    router.on_iq("get", ns::disco_info, "query", [info, ver_node](const Peer&, const xml::Element& iq, IqResponder r) {
        std::string node = iq.first_element()->attr_or("node");
        if (!node.empty() && node != ver_node) {
            r.error("item-not-found", "unknown node");
            return;
        }
        r.result(disco::to_element(*info, node));
    });
    router.on_iq("get", ns::disco_items, "query", [](const Peer&, const xml::Element& iq, IqResponder r) {
        xml::Element q("query", ns::disco_items);
        if (auto node = iq.first_element()->attr("node")) q.set_attr("node", *node);
        r.result(std::move(q));
    });
}

xml::Element caps_presence(const disco::Info& info) {
    xml::Element p("presence", ns::client);
    p.add_child(disco::caps_element(info, caps_node));
    return p;
}

void query_disco_info(C2sSession& session, const std::string& jid, std::function<void(const DiscoResult&)> done,
                      std::optional<std::chrono::milliseconds> timeout) {
    auto iq = stanza::iq("get", jid);
    iq.add("query", ns::disco_info);
    session.send_iq(std::move(iq), [done = std::move(done)](const IqResponse& r) {
        const auto* q = r.ok() ? r.stanza.child("query", ns::disco_info) : nullptr;
        if (q) return done(disco::from_element(*q));
        done(r.ok() ? Error{"undefined-condition", "the answer carries no disco#info query"} : r.error());
    }, timeout);
}

}  // namespace xpmn::client
