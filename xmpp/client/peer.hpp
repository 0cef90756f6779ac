// The entity on the other end of a stanza channel, as the channel proved it.
// Handlers and the access policy decide from a Peer only; nothing above the
// channels reads a stanza's `from` (docs/architecture.md, "Peer channels").
#pragma once

#include <optional>
#include <string>

#include "xmpp/core/jid.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::client {

struct Peer {
    enum class Proof {
        C2s,        // routed by our XMPP server: `from` as the server stamped it, not end-to-end
        EndToEnd,   // an end-to-end stream whose TLS certificate has `fingerprint`
        Pairing,    // an end-to-end SRP stream: the peer proved it knows the pairing PIN,
                    // its certificate is not known yet (it may only exchange pubkeys)
    };

    Jid jid;                  // full JID (bare when the server sent for the account itself)
    Proof proof = Proof::C2s;
    std::string fingerprint;  // SHA-256 of the peer's certificate (hex) when EndToEnd
    // The peer's role (owner / friend) joins here with the trust store.

    // Only a certificate-proven stream counts as end-to-end for access decisions.
    bool end_to_end() const { return proof == Proof::EndToEnd; }
    bool pairing() const { return proof == Proof::Pairing; }
    std::string describe() const;  // "JID (c2s)" / "JID (e2e FINGERPRINT)" / "JID (pairing)" for logs

    // The only place `from` becomes an identity: on a c2s stream the server
    // stamps it (RFC 6120 §8.1.2.1); a stanza without `from` comes from the
    // account itself. nullopt when `from` is not a valid JID.
    static std::optional<Peer> routed_by_server(const xml::Element& stanza, const Jid& account);
    static Peer end_to_end_peer(Jid jid, std::string fingerprint);
    static Peer pairing_peer(Jid jid);
};

}  // namespace xpmn::client
