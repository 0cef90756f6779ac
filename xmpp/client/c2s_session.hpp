// One client-to-server session (RFC 6120/6121) for one full JID, kept up
// forever. Each connection attempt is a C2sNegotiation (connect, STARTTLS,
// SASL, bind or resume); this class is the upkeep around it: XEP-0198 acks
// and the unacknowledged queue, XEP-0199 liveness pings, reconnection with
// exponential backoff after any loss, the queue of stanzas sent while
// offline, and the roster. Stanzas sent while offline go out once the
// session is back; those the server had not acknowledged are resent after a
// resume.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "xmpp/client/ack_requester.hpp"
#include "xmpp/client/session_config.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/client/stream_management.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::stream {
class XmlStream;
}

namespace xpmn::client {

class C2sNegotiation;

class C2sSession : public std::enable_shared_from_this<C2sSession> {
public:
    struct Events {
        std::function<void(bool resumed)> on_online;
        std::function<void(const std::string& reason)> on_offline;
        // A connection attempt failed (before the session was online); a retry is scheduled.
        std::function<void(const std::string& reason)> on_connect_error;
    };

    static std::shared_ptr<C2sSession> create(boost::asio::io_context& io, SessionConfig config);
    ~C2sSession();

    void set_events(Events events) { events_ = std::move(events); }
    // Presence sent after every new (not resumed) session, e.g. with caps.
    void set_initial_presence(xml::Element presence) { initial_presence_ = std::move(presence); }
    StanzaRouter& router() { return router_; }

    void start();
    // Closes the stream cleanly and stops reconnecting; `done` runs afterwards.
    void stop(std::function<void()> done = {});

    void send(xml::Element stanza);
    void send_iq(xml::Element iq, IqCallback callback, std::optional<std::chrono::milliseconds> timeout = {});

    bool online() const { return state_ == State::Online; }
    const Jid& jid() const { return bound_; }
    const std::string& tag() const { return tag_; }
    // The roster from the last roster get (bare JIDs), when request_roster is set.
    const std::vector<std::string>& roster() const { return roster_; }
    // For tests and diagnostics.
    int reconnect_attempts() const { return attempt_; }

private:
    enum class State { Idle, Negotiating, Online, Stopped };

    C2sSession(boost::asio::io_context& io, SessionConfig config);
    void connect();
    void on_negotiated(std::shared_ptr<stream::XmlStream> stream, const Jid& bound, bool resumed);
    void on_element(xml::Element e);
    void on_stream_closed(const std::string& reason);
    void on_stream_error(const xml::Element& e);
    void on_sm(const xml::Element& e);
    void go_online(bool resumed);
    void request_roster();
    void write_stanza(xml::Element stanza);
    void write_raw(const xml::Element& e);
    void schedule_ping();
    void lost(const std::string& reason);
    void fail_connection(const std::string& reason);
    void schedule_reconnect();

    boost::asio::io_context& io_;
    SessionConfig config_;
    std::string tag_;
    Jid bound_;
    Events events_;
    StanzaRouter router_;
    StreamManagement sm_;
    AckRequester acks_;
    State state_ = State::Idle;
    std::shared_ptr<C2sNegotiation> negotiation_;  // while State::Negotiating
    std::shared_ptr<stream::XmlStream> stream_;    // while State::Online
    tls::SslCtxPtr tls_ctx_;
    std::optional<xml::Element> initial_presence_;
    std::deque<xml::Element> offline_queue_;
    std::vector<std::string> roster_;
    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer ping_timer_;
    int attempt_ = 0;
    bool conflict_ = false;  // the last session was replaced by another client
    std::mt19937 rng_;
};

}  // namespace xpmn::client
