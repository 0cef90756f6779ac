// The `urn:xmpp:jingle:apps:out-of-band:0` application (wire profile §6.2,
// XEP-0265 over XEP-0260): one Jingle session per controller–device pair
// whose content is a raw byte stream secured by XTLS x509 — the stream the
// OOB chunk framing runs on.
//
//   initiator (controller)                  responder (device)
//   session-initiate: <description/>, the primary transport (S5B; IBB when
//   none is given), <security> (fingerprint, x509 only)
//                                           ack; AcceptPolicy(peer, offer): x509 or
//                                           session-terminate <security-error/>
//                                           session-accept: transport answer, <security>
//   both: transport->connect(); transport-info both ways goes to transport->info()
//   primary fails (kTransportFailed):
//   transport-replace → IBB                 transport-accept (anything but IBB:
//                                           transport-reject); both connect IBB
//   xtls::secure_stream (TLS client)  ⇄  xtls::secure_stream (TLS server, client cert required)
//   → OobLink on both sides
//
// Any TLS or verification failure ends the session with <security-error/>.
// The session ending closes the stream: the peer's <success/> lets what it
// sent arrive first (bounded by kPeerEndGrace), any other end fails the
// stream so its reader sees an error. The stream ending (close() from either
// side, or OobSession::close) ends the session with <success/> once the
// transport has flushed; a broken stream ends it with <failed-transport/>.
//
// One OOB session per controller–device pair: a session-initiate from a
// peer (full JID) that already has one replaces it once the new one is
// accepted — the old one ends with <cancel/> (a controller that opens again
// has lost the old stream, e.g. it restarted before its unavailable
// presence arrived; refusing would lock it out until the old one timed out).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include "xmpp/jingle/content_transport.hpp"  // TransportContext, OfferTransport, AnswerTransport
#include "xmpp/jingle/xmlstream_session.hpp"  // Acceptance, AcceptPolicy
#include "xmpp/xtls/secure_stream.hpp"

namespace xpmn::jingle {

inline constexpr const char* kOobNs = "urn:xmpp:jingle:apps:out-of-band:0";
class OobSession;
struct OobLink {
    std::shared_ptr<xtls::SecuredStream> stream;  // not started: set handlers, then start()
    std::shared_ptr<OobSession> session;          // releasing it ends the session
};
using OobHandler = std::function<void(Result<OobLink>)>;

// The handle of an established OOB session.
class OobSession {
public:
    struct Link;
    explicit OobSession(std::shared_ptr<Link> link) : link_(std::move(link)) {}
    ~OobSession() { close(); }
    OobSession(const OobSession&) = delete;
    OobSession& operator=(const OobSession&) = delete;

    // Closes the stream (queued bytes flushed) and ends the session with <success/>.
    void close();
    bool ended() const;
    // The peer as TLS proved it: its full JID and certificate fingerprint (Proof::EndToEnd).
    const client::Peer& peer() const;
    const std::string& sid() const;

private:
    std::shared_ptr<Link> link_;
};

// Controller side.
struct OpenOob {
    Jid peer;                      // full JID of the device resource
    xtls::Security offer;          // our fingerprint; methods are {x509} whatever is given
    xtls::HandshakeParams params;  // identity, trusted, timeout; role and method are set here
    OfferTransport transport;      // the primary; empty: IBB
    IbbStream::Options ibb;        // the IBB offered (primary or fallback)
    std::chrono::milliseconds timeout{15000};  // until session-accept
};
// `done` once, never from inside this call: the link, or an Error
// ("security-error" for refusals and TLS failures, "remote-server-timeout"
// when never accepted, "failed-transport", …). The returned function gives
// up while the session is being set up (session-terminate <cancel/>, `done`
// is not called); once `done` ran it does nothing (the OobSession ends it).
using CancelOob = std::function<void()>;
CancelOob open_oob(JingleManager& manager, OpenOob request, OobHandler done);

// Device side.
class OobResponder {
public:
    // `peer`: as TLS proved it (OobSession::peer()).
    using Listener = std::function<void(const client::Peer& peer, OobLink link)>;
    // Installs itself on `manager` for kOobNs (replacing an earlier one);
    // `ours.methods` is ignored. The policy's methods must include x509.
    OobResponder(JingleManager& manager, xtls::Security ours, AcceptPolicy policy, Listener on_link);
    ~OobResponder();
    OobResponder(const OobResponder&) = delete;
    OobResponder& operator=(const OobResponder&) = delete;

    AnswerTransport transport;  // non-IBB offers; empty: only IBB is answered
    IbbStream::Options ibb = [] {  // the most this side answers (primary or fallback)
        IbbStream::Options o;
        o.block_size = IbbStream::kMaxBlockSize;
        return o;
    }();
    // How long a responder whose primary failed waits for the transport-replace.
    std::chrono::milliseconds replace_wait{15000};
    // Sessions not yet ended, one per peer at most.
    std::size_t session_count() const;
    // A session of `peer` (full JID) was accepted and its secured stream is
    // not up yet: the listener will get it soon, unless it fails.
    bool setting_up(const Jid& peer) const;

private:
    void incoming(const SessionPtr& session, const Jingle& initiate);

    JingleManager& manager_;
    xtls::Security ours_;
    AcceptPolicy policy_;
    Listener on_link_;
    std::map<Jid, std::weak_ptr<OobSession::Link>> links_;  // by the peer's full JID
    std::shared_ptr<OobResponder*> alive_ = std::make_shared<OobResponder*>(this);
};

}  // namespace xpmn::jingle
