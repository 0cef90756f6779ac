// The `urn:xmpp:jingle:apps:xmlstream:0` application (wire profile §3.1):
// a Jingle session whose one content is an end-to-end XML stream, carried
// by IBB or S5B (ContentTransport: S5B with the IBB fallback by
// transport-replace, as the OOB application) and secured by XTLS.
//
//   initiator (controller)                 responder (device)
//   session-initiate: description, the primary transport (IBB, or S5B when
//   the caller offers it), <security> (fingerprint, methods)
//                                          ack; AcceptPolicy(peer, offer)
//                                          session-accept: transport answer, <security> (its
//                                            fingerprint, the methods it accepts) — or
//                                            session-terminate <security-error/> when nothing
//                                            is acceptable (<unsupported-transports/> for S5B
//                                            when the responder answers IBB only)
//   ack; method = x509 if both sides name it, else srp (both compute the same);
//   security-info naming it (informative); both connect the transport
//   (S5B failed: transport-replace → IBB, as in oob_session.hpp)
//   xtls::establish (TLS client)  ⇄  xtls::establish (TLS server, client cert required)
//   → E2eChannel on both sides
//
// Any TLS or verification failure ends the session with session-terminate
// <security-error/> (the responder's policy hears of it through
// on_security_failure). A channel that closes ends its session with
// <success/> once the IBB stream under it has flushed (at once over S5B:
// its bytes end with the TCP stream); the peer's session-terminate closes
// the channel — after the rest of the peer's data, when it ended cleanly
// (IBB: its <close/> came first; S5B: read to the end, kPeerEndGrace at most).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "xmpp/jingle/content_transport.hpp"
#include "xmpp/jingle/jingle_manager.hpp"
#include "xmpp/xtls/e2e_channel.hpp"
#include "xmpp/xtls/xtls.hpp"

namespace xpmn::jingle {

inline constexpr const char* kXmlStreamNs = "urn:xmpp:jingle:apps:xmlstream:0";

// Controller side.
struct OpenXmlStream {
    Jid peer;                       // full JID of the device resource
    xtls::Security offer;           // our fingerprint + methods ({x509} normally, {srp} to pair)
    xtls::HandshakeParams params;   // identity, trusted, srp; role and method are set here
    std::size_t block_size = 4096;  // IBB block-size offered (primary or fallback)
    OfferTransport transport;       // the primary (e.g. S5B); empty: IBB
    std::chrono::milliseconds timeout{15000};  // until session-accept
};
// `done` once: the open channel, or an Error ("security-error" for refusals
// and TLS failures, "remote-server-timeout" when never accepted,
// "feature-not-implemented" when the responder takes no such transport, …).
void open_xmlstream(JingleManager& manager, OpenXmlStream request, xtls::ChannelHandler done);

// Device side.
struct Acceptance {                     // what the device's policy answers to a session-initiate
    std::vector<xtls::Method> methods;  // empty: refused (session-terminate <security-error/>)
    xtls::HandshakeParams params;       // identity, trusted, srp_lookup …; role and method are set here
    std::function<void(const std::string& why)> on_security_failure;  // e.g. count a failed PIN
};
using AcceptPolicy = std::function<Acceptance(const client::Peer& initiator, const xtls::Security& offer)>;

class XmlStreamResponder {
public:
    using ChannelListener = std::function<void(std::shared_ptr<xtls::E2eChannel>)>;
    // Installs itself on `manager` for kXmlStreamNs (replacing an earlier
    // one); `ours.methods` is ignored (the policy says them per session).
    XmlStreamResponder(JingleManager& manager, xtls::Security ours, AcceptPolicy policy, ChannelListener on_channel);
    ~XmlStreamResponder();
    XmlStreamResponder(const XmlStreamResponder&) = delete;
    XmlStreamResponder& operator=(const XmlStreamResponder&) = delete;

    // IBB streams of the sessions: block_size is the most this side answers
    // (≤ IbbStream::kMaxBlockSize), window, bounds and deadlines as there.
    IbbStream::Options ibb = [] {
        IbbStream::Options o;
        o.block_size = IbbStream::kMaxBlockSize;
        return o;
    }();
    AnswerTransport transport;  // non-IBB offers (S5B); empty: only IBB is answered
    // How long a responder whose primary failed waits for the transport-replace.
    std::chrono::milliseconds replace_wait{15000};

private:
    void incoming(const SessionPtr& session, const Jingle& initiate);

    JingleManager& manager_;
    xtls::Security ours_;
    AcceptPolicy policy_;
    ChannelListener on_channel_;
    std::shared_ptr<XmlStreamResponder*> alive_ = std::make_shared<XmlStreamResponder*>(this);
};

}  // namespace xpmn::jingle
