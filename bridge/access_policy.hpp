// Who may use a device's profile commands, decided from the Peer the channel
// proved and nothing else (never a stanza's `from`), wire profile §3 and §4:
//   * c2s peers: `not-authorized` + `e2e-required`, unless `require_e2e` is
//     off (tests): then the home account is served as an owner, every other
//     account gets `forbidden`.
//   * Pairing peers (an SRP stream): nothing but the pubkey exchange on
//     /bridge, which is not a profile command (forbidden here).
//   * End-to-end peers: the trust store names the certificate's role —
//     owner (a controller of the home account): everything; friend: what a
//     live grant allows for (device, permission, container subtree).
// Whether a container lies inside a granted one is for the directory to say
// (the NAS knows the parents), so decide() is asynchronous.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bridge/security/grants.hpp"
#include "xmpp/client/peer.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/xml/element.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::bridge {

enum class PeerRole { Owner, Friend };

// The outcome of admitting a peer: its role, or the <error/> to answer with.
struct Admission {
    PeerRole role = PeerRole::Owner;
    std::optional<xml::Element> denied;
    explicit operator bool() const { return !denied; }
};

// What a request asks for, to be judged against a friend's grants.
struct AccessRequest {
    std::string device;                 // the device's resource ("upnp-3fa2c1d0")
    security::Permission permission = security::Permission::Read;
    std::optional<std::string> container;  // read: the container the request touches; nullopt: the whole server
};

// "Is `container` inside the subtree of `granted` (or `granted` itself)?",
// answered once through `done`, possibly later. The profile supplies it
// (the directory asks the media server for the parents); false on any error.
using ContainerWithin =
    std::function<void(const std::string& container, const std::string& granted, std::function<void(bool)> done)>;
// nullopt: allowed; else the <error/> to answer with. Called exactly once.
using AccessCallback = std::function<void(std::optional<xml::Element> denied)>;

class AccessPolicy {
public:
    // Without a trust store: end-to-end peers are taken as the channel
    // proved them (owners) — only for tests of the layers below.
    AccessPolicy(bool require_e2e, std::string home_bare_jid);
    AccessPolicy(bool require_e2e, std::string home_bare_jid, std::shared_ptr<const xtls::TrustStore> trust,
                 std::shared_ptr<const security::GrantStore> grants);

    Admission admit(const client::Peer& peer) const;
    // Owner-level access only (friends are forbidden): for requests no grant
    // can cover. nullopt: allowed; otherwise the <error/> to answer with.
    std::optional<xml::Element> check(const client::Peer& peer) const;
    // The full decision for a profile request: owners always; friends when a
    // live grant covers (device, permission, container). `within` may be
    // empty (then only a grant on exactly that container or the whole
    // device counts).
    void decide(const client::Peer& peer, const AccessRequest& request, const ContainerWithin& within,
                AccessCallback done) const;

    bool require_e2e() const { return require_e2e_; }
    const Jid& home() const { return home_; }

private:
    bool require_e2e_;
    Jid home_;
    std::shared_ptr<const xtls::TrustStore> trust_;
    std::shared_ptr<const security::GrantStore> grants_;
};

// <error type='auth'><not-authorized/><e2e-required xmlns='urn:xmpp:xpmn:0'/></error>
xml::Element e2e_required_error();
// <error type='auth'><forbidden/><text>why</text></error>
xml::Element forbidden_error(std::string_view why);

}  // namespace xpmn::bridge
