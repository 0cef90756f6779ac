// The Jingle endpoint of one c2s session: one per client::StanzaRouter. It
// answers every <jingle/> IQ-set first (ack-then-act), routes it by (peer
// full JID as the router proved it, sid) to its Session, and answers the
// XEP-0166 errors itself: unknown-session, out-of-order, tie-break (two
// session-initiates crossing: the lower sid wins, or with equal sids the
// lower JID's, XEP-0166 §7.2.16), bad-request. Applications register by
// their description namespace; a session-initiate for another one is
// acknowledged and terminated with <unsupported-applications/>. A session
// that is never accepted ends with <timeout/>; an unavailable presence from
// the peer's full JID ends its sessions (one from its bare JID does not).
//
// It lives no longer than its router (it installs handlers on it).
// Destroying it ends its sessions quietly (no handler runs, nothing is sent);
// terminate_all() first to tell peers and applications.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/jingle/ibb_registry.hpp"
#include "xmpp/jingle/session.hpp"

namespace xpmn::jingle {

class JingleManager {
public:
    struct Options {
        std::chrono::milliseconds pending_timeout{30000};  // session-initiate → session-accept
        std::chrono::milliseconds iq_timeout{15000};       // wire profile §8: wait at least 15 s
        // Sessions a peer may start here (resource-constraint beyond), and in all.
        std::size_t max_sessions_per_peer = 8;
        std::size_t max_sessions = 256;
    };
    using IncomingHandler = std::function<void(SessionPtr session, const Jingle& initiate)>;

    // `self`: our full JID (the initiator/responder attributes, tie-breaks).
    JingleManager(boost::asio::io_context& io, client::StanzaRouter& router, Jid self, Options options);
    JingleManager(boost::asio::io_context& io, client::StanzaRouter& router, Jid self)
        : JingleManager(io, router, std::move(self), Options{}) {}
    ~JingleManager();
    JingleManager(const JingleManager&) = delete;
    JingleManager& operator=(const JingleManager&) = delete;

    // Incoming sessions whose (first) description has this namespace. The
    // handler sets the session's handlers, then accepts or terminates it.
    // An empty handler removes the application.
    void on_application(std::string description_ns, IncomingHandler handler);
    // Sends session-initiate to `peer` (a full JID); the session is PENDING
    // until session-accept, and ends with <timeout/> after `pending_timeout`
    // (zero: the manager's default).
    SessionPtr initiate(const Jid& peer, std::vector<Content> contents, Session::Handlers handlers,
                        std::chrono::milliseconds pending_timeout = {});
    // Terminates every session (e.g. the device goes away).
    void terminate_all(const Reason& reason);

    std::size_t session_count() const { return sessions_.size(); }
    // Runs `callback` (from the event loop) once no session is left: at once
    // when there is none. A client that ends its sessions waits for this
    // before it disconnects, so their last data and terminates get out.
    void when_idle(std::function<void()> callback);
    SessionPtr find(const Jid& peer, const std::string& sid) const;
    const Jid& self() const { return self_; }
    void set_self(Jid self) { self_ = std::move(self); }
    boost::asio::io_context& io() { return io_; }
    client::StanzaRouter& router() { return router_; }
    const Options& options() const { return options_; }
    // The in-band bytestreams (XEP-0047) of this router's sessions.
    IbbRegistry& ibb() { return ibb_; }

private:
    friend class Session;
    using Key = std::pair<Jid, std::string>;
    void on_jingle(const client::Peer& peer, const xml::Element& iq, client::IqResponder responder);
    void on_initiate(const client::Peer& peer, Jingle j, client::IqResponder responder);
    // A crossing session-initiate (§7.2.16): true when the peer's wins (ours ended), false when
    // it was refused with conflict + tie-break.
    bool break_tie(const client::Peer& peer, const Jingle& theirs, client::IqResponder& responder);
    void on_presence(const xml::Element& presence);
    void forget(const Session& session);

    boost::asio::io_context& io_;
    client::StanzaRouter& router_;
    Jid self_;
    Options options_;
    std::map<std::string, IncomingHandler> applications_;
    std::map<Key, SessionPtr> sessions_;
    std::vector<std::function<void()>> idle_waiters_;
    IbbRegistry ibb_;
    client::StanzaRouter::ListenerId presence_ = 0;
    std::shared_ptr<JingleManager*> alive_ = std::make_shared<JingleManager*>(this);
};

}  // namespace xpmn::jingle
