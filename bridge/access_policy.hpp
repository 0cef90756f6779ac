// Who may use a device's profile commands, decided from the Peer the channel
// proved and nothing else (never a stanza's `from`). Over plain c2s: allowed
// only when the configuration relaxes `require_e2e`, and then only for the
// home account itself (wire profile §3). End-to-end peers: allowed (the
// trust store and grants plug in here).
#pragma once

#include <optional>
#include <string>

#include "xmpp/client/peer.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::bridge {

class AccessPolicy {
public:
    AccessPolicy(bool require_e2e, std::string home_bare_jid);
    // nullopt: allowed; otherwise the <error/> to answer with.
    std::optional<xml::Element> check(const client::Peer& peer) const;
    bool require_e2e() const { return require_e2e_; }

private:
    bool require_e2e_;
    Jid home_;
};

// <error type='auth'><not-authorized/><e2e-required xmlns='urn:xmpp:xpmn:0'/></error>
xml::Element e2e_required_error();

}  // namespace xpmn::bridge
