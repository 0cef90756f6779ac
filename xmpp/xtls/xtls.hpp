// Jingle XTLS (wire profile §3.1): the <security/> element of a Jingle
// content, and the end-to-end stream it secures. establish() runs TLS over
// any transport ByteStream (IBB, S5B, the in-memory pair of the tests) in
// the role and method Jingle agreed on, checks the peer, then opens the
// XEP-0246 XML stream both ways and hands over an E2eChannel.
//
// Methods: x509 — TLS 1.3 (1.2 minimum), both sides present their device
// certificates, each checks that the peer's leaf is the one announced in
// Jingle AND that its trust store accepts it. srp — TLS 1.2 with
// SRP-AES-256-CBC-SHA (RFC 5054) for pairing: user = the initiator's full
// JID, password = the PIN; no certificates, so the peer is only known to
// hold the PIN (client::Peer::Proof::Pairing).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"
#include "xmpp/tls/tls_context.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::xtls {

inline constexpr const char* kNs = "urn:xmpp:jingle:security:xtls:0";

enum class Method { X509, Srp };
std::string_view method_name(Method);  // "x509" / "srp"

struct Security {                 // one side's <security/>
    std::string fingerprint;      // SHA-256 of its cert DER, lowercase hex (empty: none sent)
    std::vector<Method> methods;  // in the order given
};
// <security xmlns=kNs><fingerprint algo='sha-256'>HEX</fingerprint><method name=…/>…</security>
xml::Element make_security(const Security&);
// bad-request Error on a malformed one (wrong element, a fingerprint that is
// not SHA-256 hex, a method without name); unknown methods are skipped.
Result<Security> parse_security(const xml::Element& security);

enum class Role { Initiator /* TLS client */, Responder /* TLS server, requests a client cert */ };

struct HandshakeParams {
    Role role = Role::Initiator;
    Method method = Method::X509;
    tls::Identity identity;            // ours (x509: presented by both; srp: not used)
    std::string peer_fingerprint;      // x509: announced by the peer in Jingle; the leaf must equal it
    std::function<bool(const std::string& sha256)> trusted;  // x509: the trust store must also accept it
    tls::SrpCredentials srp;           // srp initiator: user = initiator full JID (empty: StreamEnds::local), password = PIN
    tls::SrpLookup srp_lookup;         // srp responder; only asked for the user name that is StreamEnds::peer
    // TLS handshake and stream headers together; past it: remote-server-timeout.
    std::chrono::milliseconds timeout{30000};
};

struct StreamEnds {
    Jid local;  // our full JID (the stream header's `from` is its bare part)
    Jid peer;   // the peer's full JID as Jingle named it (the Peer's jid)
};

class E2eChannel;  // : public client::PeerChannel — see e2e_channel.hpp
using ChannelHandler = std::function<void(Result<std::shared_ptr<E2eChannel>>)>;

// TLS over `transport` in the given role/method, then the XEP-0246 stream
// both ways (no STARTTLS/SASL inside; the responder sends an empty
// <stream:features/>; inner to/from ignored). Calls `done` once, never from
// inside this call: the open channel, or an Error — "security-error" for a
// TLS or verification failure and for a stream that ends before it is open
// (the text says why), "remote-server-timeout" past params.timeout.
// The returned function gives up early (e.g. the Jingle session ended): the
// transport is aborted and `done` is not called; after `done` it does nothing.
using CancelEstablish = std::function<void()>;
CancelEstablish establish(boost::asio::io_context& io, net::ByteStreamPtr transport, HandshakeParams params,
                          StreamEnds ends, ChannelHandler done);

}  // namespace xpmn::xtls
