#include "bridge/access_policy.hpp"

#include "xmpp/core/jid.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::bridge {

AccessPolicy::AccessPolicy(bool require_e2e, std::string home_bare_jid)
    : require_e2e_(require_e2e), home_(Jid::must_parse(home_bare_jid).bare()) {}

xml::Element e2e_required_error() {
    xml::Element err = stanza::error_element("not-authorized", "profile commands need an end-to-end stream", "auth");
    err.add("e2e-required", ns::xpmn);
    return err;
}

std::optional<xml::Element> AccessPolicy::check(const client::Peer& peer) const {
    if (peer.end_to_end()) return std::nullopt;  // trust and grants: the security issue
    if (require_e2e_) return e2e_required_error();
    if (peer.jid.bare() != home_)
        return stanza::error_element("forbidden", "only the home account may use this over c2s", "auth");
    return std::nullopt;
}

}  // namespace xpmn::bridge
