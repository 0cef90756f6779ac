#include "xmpp/jingle/jingle_manager.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <vector>

#include "xmpp/core/stanza.hpp"

namespace xpmn::jingle {

JingleManager::JingleManager(boost::asio::io_context& io, client::StanzaRouter& router, Jid self, Options options)
    : io_(io), router_(router), self_(std::move(self)), options_(options), ibb_(io, router) {
    router_.on_iq("set", kNs, "jingle",
                  [alive = std::weak_ptr<JingleManager*>(alive_)](const client::Peer& peer, const xml::Element& iq,
                                                                  client::IqResponder r) {
                      auto m = alive.lock();
                      if (!m) return r.error("service-unavailable", "Jingle is not offered here any more");
                      (*m)->on_jingle(peer, iq, std::move(r));
                  });
    presence_ = router_.on_presence([alive = std::weak_ptr<JingleManager*>(alive_)](const xml::Element& p) {
        if (auto m = alive.lock()) (*m)->on_presence(p);
    });
}

JingleManager::~JingleManager() {
    router_.remove_listener(presence_);
    alive_.reset();  // sessions ending below no longer reach back here
    auto sessions = std::move(sessions_);
    sessions_.clear();
    for (auto& [key, s] : sessions) {
        s->set_handlers({});  // their owners go away with us: nobody to tell
        s->end(Reason{"gone", "the Jingle endpoint went away", {}}, false);
    }
}

void JingleManager::on_application(std::string description_ns, IncomingHandler handler) {
    if (!handler) {
        applications_.erase(description_ns);
        return;
    }
    applications_[std::move(description_ns)] = std::move(handler);
}

SessionPtr JingleManager::find(const Jid& peer, const std::string& sid) const {
    auto it = sessions_.find({peer, sid});
    return it == sessions_.end() ? nullptr : it->second;
}

SessionPtr JingleManager::initiate(const Jid& peer, std::vector<Content> contents, Session::Handlers handlers,
                                   std::chrono::milliseconds pending_timeout) {
    std::string sid = random_sid();
    while (sessions_.count({peer, sid})) sid = random_sid();
    Jingle j;
    j.action = Action::SessionInitiate;
    j.sid = sid;
    j.initiator = self_;
    j.contents = contents;
    auto session = std::make_shared<Session>(*this, Session::Role::Initiator,
                                             client::Peer{peer, client::Peer::Proof::C2s, {}}, sid, std::move(contents));
    session->set_handlers(std::move(handlers));
    sessions_[{peer, sid}] = session;
    session->sent_initiate(make_jingle(j), pending_timeout.count() > 0 ? pending_timeout : options_.pending_timeout);
    return session;
}

void JingleManager::terminate_all(const Reason& reason) {
    std::vector<SessionPtr> all;
    for (auto& [key, s] : sessions_) all.push_back(s);
    for (auto& s : all) s->terminate(reason);
}

void JingleManager::forget(const Session& session) {
    auto it = sessions_.find({session.peer().jid, session.sid()});
    if (it != sessions_.end() && it->second.get() == &session) sessions_.erase(it);
    if (sessions_.empty() && !idle_waiters_.empty())
        for (auto& waiter : std::exchange(idle_waiters_, {})) boost::asio::post(io_, std::move(waiter));
}

void JingleManager::when_idle(std::function<void()> callback) {
    if (sessions_.empty()) return boost::asio::post(io_, std::move(callback));
    idle_waiters_.push_back(std::move(callback));
}

void JingleManager::on_jingle(const client::Peer& peer, const xml::Element& iq, client::IqResponder r) {
    auto parsed = parse_jingle(*iq.first_element());
    if (!parsed) return r.error(parsed.error());
    Jingle& j = *parsed;
    if (j.action == Action::SessionInitiate) return on_initiate(peer, std::move(j), std::move(r));
    auto it = sessions_.find({peer.jid, j.sid});
    if (it == sessions_.end())
        return r.error(jingle_error("item-not-found", "unknown-session", "no Jingle session '" + j.sid + "' with " +
                                                                             peer.jid.str()));
    auto session = it->second;
    session->receive(j, std::move(r));
}

bool JingleManager::break_tie(const client::Peer& peer, const Jingle& theirs, client::IqResponder& r) {
    // Ours and theirs crossed when ours is still unanswered: the peer sent
    // its session-initiate before it saw ours.
    SessionPtr ours;
    auto same = sessions_.find({peer.jid, theirs.sid});
    if (same != sessions_.end()) {
        if (same->second->role() != Session::Role::Initiator || same->second->initiate_answered_) {
            r.error(jingle_error("unexpected-request", "out-of-order",
                                 "session-initiate for the existing session '" + theirs.sid + "'"));
            return false;
        }
        ours = same->second;
    } else {
        for (auto& [key, s] : sessions_)
            if (key.first == peer.jid && s->role() == Session::Role::Initiator && !s->initiate_answered_ &&
                description_ns(s->contents()) == theirs.description_ns()) {
                ours = s;
                break;
            }
        if (!ours) return true;
    }
    // The lower sid wins ("i;octet": bytewise); equal sids: the lower JID's.
    bool theirs_wins = theirs.sid != ours->sid() ? theirs.sid < ours->sid() : peer.jid.str() < self_.str();
    if (!theirs_wins) {
        r.error(jingle_error("conflict", "tie-break", "our session-initiate crossed yours and wins"));
        return false;
    }
    ours->end(Reason{"alternative-session", "the peer's crossing session-initiate won the tie-break", {}}, false);
    return true;
}

void JingleManager::on_initiate(const client::Peer& peer, Jingle j, client::IqResponder r) {
    if (j.contents.empty()) return r.error("bad-request", "session-initiate without a <content/>");
    for (const auto& c : j.contents)
        if (!c.description || !c.transport)
            return r.error("bad-request", "content '" + c.name + "' needs a <description/> and a <transport/>");
    if (!break_tie(peer, j, r)) return;
    std::size_t of_peer = 0;
    for (const auto& [key, s] : sessions_) of_peer += key.first == peer.jid && s->role() == Session::Role::Responder;
    if (of_peer >= options_.max_sessions_per_peer || sessions_.size() >= options_.max_sessions)
        return r.error("resource-constraint", "too many Jingle sessions; end one first");
    r.result();
    auto session = std::make_shared<Session>(*this, Session::Role::Responder, peer, j.sid, j.contents);
    sessions_[{peer.jid, j.sid}] = session;
    session->start_pending_timer(options_.pending_timeout);
    auto app = applications_.find(j.description_ns());
    if (app == applications_.end())
        return session->terminate(Reason{"unsupported-applications", "no application for " + j.description_ns(), {}});
    auto handler = app->second;
    handler(session, j);
}

// Only the peer's own full JID going unavailable ends its sessions: an
// unavailable presence from the bare JID is what servers send to acknowledge
// a subscription request or to answer a probe (Prosody does both), and it
// arrives while the peer's resources are online.
void JingleManager::on_presence(const xml::Element& presence) {
    if (presence.attr_or("type") != "unavailable") return;
    auto gone = client::Peer::routed_by_server(presence, self_.bare());
    if (!gone) return;
    std::vector<SessionPtr> ending;
    for (auto& [key, s] : sessions_)
        if (key.first == gone->jid) ending.push_back(s);
    for (auto& s : ending) s->terminate(Reason{"connectivity-error", "the peer went unavailable", {}});
}

}  // namespace xpmn::jingle
