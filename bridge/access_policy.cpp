#include "bridge/access_policy.hpp"

#include "xmpp/core/jid.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::bridge {
namespace {

// Asks `within` about each granted container in turn until one holds.
void any_within(std::shared_ptr<const std::vector<std::string>> granted, std::size_t i, std::string container,
                ContainerWithin within, AccessCallback done) {
    if (i == granted->size())
        return done(forbidden_error("no grant covers container '" + container + "' of this device"));
    const std::string& g = (*granted)[i];
    within(container, g, [granted, i, container, within, done](bool inside) {
        if (inside) return done(std::nullopt);
        any_within(granted, i + 1, container, within, done);
    });
}

}  // namespace

AccessPolicy::AccessPolicy(bool require_e2e, std::string home_bare_jid)
    : require_e2e_(require_e2e), home_(Jid::must_parse(home_bare_jid).bare()) {}

AccessPolicy::AccessPolicy(bool require_e2e, std::string home_bare_jid, std::shared_ptr<const xtls::TrustStore> trust,
                           std::shared_ptr<const security::GrantStore> grants)
    : require_e2e_(require_e2e),
      home_(Jid::must_parse(home_bare_jid).bare()),
      trust_(std::move(trust)),
      grants_(std::move(grants)) {}

xml::Element e2e_required_error() {
    xml::Element err = stanza::error_element("not-authorized", "profile commands need an end-to-end stream", "auth");
    err.add("e2e-required", ns::xpmn);
    return err;
}

xml::Element forbidden_error(std::string_view why) { return stanza::error_element("forbidden", why, "auth"); }

Admission AccessPolicy::admit(const client::Peer& peer) const {
    using Proof = client::Peer::Proof;
    switch (peer.proof) {
        case Proof::C2s:
            if (require_e2e_) return {PeerRole::Owner, e2e_required_error()};
            if (peer.jid.empty() || peer.jid.bare() != home_)
                return {PeerRole::Owner, forbidden_error("only the home account may use this over c2s")};
            return {PeerRole::Owner, std::nullopt};
        case Proof::Pairing:
            return {PeerRole::Owner, forbidden_error("a pairing stream may only exchange public keys")};
        case Proof::EndToEnd: break;
    }
    if (!trust_) return {PeerRole::Owner, std::nullopt};
    const xtls::TrustEntry* entry = trust_->find(peer.fingerprint);
    if (!entry || !trust_->trusts(peer.fingerprint, peer.jid))
        return {PeerRole::Owner, forbidden_error("this certificate is not paired with " + peer.jid.bare().str())};
    if (entry->role == xtls::TrustRole::Owner && entry->jid == home_) return {PeerRole::Owner, std::nullopt};
    if (entry->role == xtls::TrustRole::Device) return {PeerRole::Owner, forbidden_error("a device is no controller")};
    return {PeerRole::Friend, std::nullopt};
}

std::optional<xml::Element> AccessPolicy::check(const client::Peer& peer) const {
    Admission a = admit(peer);
    if (!a) return std::move(a.denied);
    if (a.role == PeerRole::Friend) return forbidden_error("only owners may do this");
    return std::nullopt;
}

void AccessPolicy::decide(const client::Peer& peer, const AccessRequest& request, const ContainerWithin& within,
                          AccessCallback done) const {
    Admission a = admit(peer);
    if (!a) return done(std::move(a.denied));
    if (a.role == PeerRole::Owner) return done(std::nullopt);
    if (!grants_ || request.device.empty()) return done(forbidden_error("no grant for this device"));
    auto device = Jid::parse(home_.str() + "/" + request.device);
    if (!device) return done(forbidden_error("no such device: " + request.device));
    auto grants = grants_->matching(peer.jid, *device, request.permission);
    if (grants.empty())
        return done(forbidden_error("no " + std::string(security::permission_name(request.permission)) +
                                    " grant for " + peer.jid.bare().str() + " on this device"));
    auto granted = std::make_shared<std::vector<std::string>>();
    for (const auto& g : grants) {
        if (g.container.empty()) return done(std::nullopt);  // the whole device
        if (request.container && *request.container == g.container) return done(std::nullopt);
        granted->push_back(g.container);
    }
    if (!request.container) return done(forbidden_error("the grant covers only part of this media server"));
    if (!within) return done(forbidden_error("no grant covers container '" + *request.container + "'"));
    any_within(std::move(granted), 0, *request.container, within, std::move(done));
}

}  // namespace xpmn::bridge
