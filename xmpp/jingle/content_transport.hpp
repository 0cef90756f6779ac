// The transport of one Jingle content, for any application that wants a
// byte stream (OOB §6.2, the end-to-end XML stream §3.1): the primary
// offered (S5B, or IBB when none is given) or answered, transport-info both
// ways, and XEP-0260 §2.4's fallback — when the primary cannot connect, the
// initiator replaces it with IBB by transport-replace and the responder
// waits for that (taking only IBB, only once, only before anything
// connected). The application gets one connected stream or one failure.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xmpp/jingle/ibb_stream.hpp"
#include "xmpp/jingle/jingle_manager.hpp"
#include "xmpp/jingle/transport.hpp"

namespace xpmn::jingle {

// The condition a primary transport's connect() fails with when no way to
// connect worked (XEP-0260: both sides sent candidate-error); the initiator
// then falls back to IBB. Any other failure of a non-IBB primary falls back
// too; an IBB failure ends the session.
inline constexpr const char* kTransportFailed = "failed-transport";

// After the peer's session-terminate <success/>, how long the stream may
// take to deliver what the peer sent (still on its way: S5B bytes travel
// apart from the session's stanzas; or held below a paused reader) before
// it ends anyway.
inline constexpr std::chrono::seconds kPeerEndGrace{30};

// What a transport factory gets: where the transport leads, and how it sends
// transport-info (the <transport/> element goes into this session's content;
// S5B's candidate-used, candidate-error, activated …). Transport-info from
// the peer reaches Transport::info().
struct TransportContext {
    JingleManager& manager;
    Jid peer;  // full JID
    std::function<void(xml::Element transport)> send_info;
};
// Initiator: the primary transport to offer (e.g. an S5bTransport with
// set_info_sender(ctx.send_info)); null: IBB.
using OfferTransport = std::function<TransportPtr(const TransportContext&)>;
// Responder: the answer to an offered <transport/> that is not IBB (IBB is
// answered without asking); an Error (e.g. unsupported-transports) refuses the session.
using AnswerTransport = std::function<Result<TransportPtr>(const TransportContext&, const xml::Element& offer)>;

class ContentTransport : public std::enable_shared_from_this<ContentTransport> {
public:
    struct Events {
        std::function<void(net::ByteStreamPtr)> connected;  // once
        // The peer hears `reason` (the application terminates), the caller `error`.
        std::function<void(const Reason& reason, const Error& error)> failed;
        std::function<void()> flushed;  // IBB: our close was acknowledged (all we sent is there)
    };
    // `what` names the application in logs ("OOB session").
    ContentTransport(JingleManager& manager, Session::Role role, IbbStream::Options ibb, std::string what);
    // Gone without the session ending through us (the endpoint went away):
    // nothing may keep trying to connect for a content nobody holds.
    ~ContentTransport();
    ContentTransport(const ContentTransport&) = delete;
    ContentTransport& operator=(const ContentTransport&) = delete;

    void set_events(Events events) { events_ = std::move(events); }
    void set_content(Creator creator, std::string name) {
        creator_ = creator;
        name_ = std::move(name);
    }
    // Responder: how long it waits for the transport-replace after its primary failed.
    std::chrono::milliseconds replace_wait{15000};

    // Initiator: the primary `offer` makes for `peer` (IBB when it is empty or makes none).
    void offer(const Jid& peer, const OfferTransport& offer);
    // Responder: answers the offered <transport/> (IBB without asking, the
    // rest through `answer`); an Error's condition is the Jingle reason to
    // refuse the session with (unsupported-transports or failed-transport).
    Result<void> answer(const Jid& peer, const xml::Element& offered, const AnswerTransport& answer);
    // The session exists: transport-info sent before it goes out now.
    void started(SessionPtr session);
    // Adds the transport-info, transport-replace (responder) and transport
    // answer (initiator) handlers.
    void install(Session::Handlers& handlers);

    void prepare(std::function<void()> ready) { transport_->prepare(std::move(ready)); }
    xml::Element element() const { return transport_->element(); }
    // Initiator: the responder's <transport/> from session-accept.
    Result<void> accepted(const xml::Element& answer) { return transport_->accepted(answer); }
    // After session-accept: Events::connected or Events::failed follows.
    void connect();
    // Gives up (the session ended): no event follows; an IBB stream that
    // nothing above took over (`handed_out` false) is aborted.
    void cancel(bool handed_out);

    bool on_ibb() const { return on_ibb_; }
    // The connected stream when it is IBB.
    const IbbStreamPtr& ibb_stream() const { return ibb_stream_; }

private:
    TransportContext context();
    bool ended() const { return !session_ || session_->state() == Session::State::Ended; }
    void send_action(Action action, xml::Element transport, client::IqCallback reply = {});
    void send_info(xml::Element transport);
    void fail(const std::string& text);
    void transport_info(const Jingle& j);
    void connect_failed(const Error& error);
    void replace_answered(const Jingle& j);
    void replace_requested(const Jingle& j);

    JingleManager& manager_;
    Session::Role role_;
    IbbStream::Options ibb_options_;
    std::string what_;
    Creator creator_ = Creator::Initiator;
    std::string name_;
    SessionPtr session_;
    TransportPtr transport_;
    Events events_;
    bool on_ibb_ = false;  // the transport is IBB (the primary, or after the fallback)
    bool primary_failed_ = false;
    bool connected_ = false;
    IbbStreamPtr ibb_stream_;
    std::vector<xml::Element> early_info_;  // transport-info sent before the session existed
    boost::asio::steady_timer timer_;       // responder: waiting for transport-replace
};

// The base of an application's per-session object (OOB, xmlstream: CRTP,
// `Owner` derives from it): its Jingle session and its transport. Owner
// has connected(stream), fail(reason, error), flushed() — the transport's
// events, forwarded weakly (the owner holds the transport) — and
// session_ended(reason, by_peer), held strongly by the session's handlers
// (the session keeps the owner until it ends).
template <class Owner>
struct ContentOwner : std::enable_shared_from_this<Owner> {
    ContentOwner(JingleManager& manager, Session::Role role, IbbStream::Options ibb, std::string what)
        : transport(std::make_shared<ContentTransport>(manager, role, ibb, std::move(what))) {}

    SessionPtr session;  // set right after it exists
    std::shared_ptr<ContentTransport> transport;

    bool ended() const { return !session || session->state() == Session::State::Ended; }
    // Once made (before the transport is offered or answered).
    void wire_transport() {
        ContentTransport::Events e;
        std::weak_ptr<Owner> owner = this->weak_from_this();
        e.connected = [owner](net::ByteStreamPtr s) {
            if (auto o = owner.lock()) o->connected(std::move(s));
        };
        e.failed = [owner](const Reason& reason, const Error& error) {
            if (auto o = owner.lock()) o->fail(reason, error);
        };
        e.flushed = [owner] {
            if (auto o = owner.lock()) o->flushed();
        };
        transport->set_events(std::move(e));
    }
    // The session's handlers: transport-info and the replace to the transport, the end to the owner.
    Session::Handlers handlers() {
        Session::Handlers h;
        transport->install(h);
        h.on_ended = [owner = this->shared_from_this()](const Reason& r, bool by_peer) {
            owner->session_ended(r, by_peer);
        };
        return h;
    }
    void session_started(SessionPtr s) {
        session = s;
        transport->started(std::move(s));
    }
};

}  // namespace xpmn::jingle
