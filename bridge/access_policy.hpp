// Who may use a device's profile commands. Until end-to-end streams exist,
// the only path is plain c2s: allowed only when the configuration relaxes
// `require_e2e` and only for the home account itself (wire profile §3).
// Profile handlers take the peer as a parameter, so the XTLS path plugs in
// here without touching them.
#pragma once

#include <optional>
#include <string>

#include "xmpp/xml/element.hpp"

namespace xpmn::bridge {

struct Peer {
    std::string full_jid;      // as routed (c2s) or as proven by TLS (end-to-end)
    bool end_to_end = false;   // the request came over a trusted XTLS stream
};

class AccessPolicy {
public:
    AccessPolicy(bool require_e2e, std::string home_bare_jid);
    // nullopt: allowed; otherwise the <error/> to answer with.
    std::optional<xml::Element> check(const Peer& peer) const;
    bool require_e2e() const { return require_e2e_; }

private:
    bool require_e2e_;
    std::string home_;
};

// <error type='auth'><not-authorized/><e2e-required xmlns='urn:xmpp:xpmn:0'/></error>
xml::Element e2e_required_error();

}  // namespace xpmn::bridge
