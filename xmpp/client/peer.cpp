#include "xmpp/client/peer.hpp"

namespace xpmn::client {

std::string Peer::describe() const {
    switch (proof) {
        case Proof::EndToEnd: return jid.str() + " (e2e " + fingerprint + ")";
        case Proof::Pairing: return jid.str() + " (pairing)";
        case Proof::C2s: break;
    }
    return jid.str() + " (c2s)";
}

std::optional<Peer> Peer::routed_by_server(const xml::Element& stanza, const Jid& account) {
    auto from = stanza.attr("from");
    if (!from) return Peer{account.bare(), Proof::C2s, {}};
    auto jid = Jid::parse(*from);
    if (!jid) return std::nullopt;
    return Peer{std::move(*jid), Proof::C2s, {}};
}

Peer Peer::end_to_end_peer(Jid jid, std::string fingerprint) {
    return Peer{std::move(jid), Proof::EndToEnd, std::move(fingerprint)};
}

Peer Peer::pairing_peer(Jid jid) { return Peer{std::move(jid), Proof::Pairing, {}}; }

}  // namespace xpmn::client
