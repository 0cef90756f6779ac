#include "xmpp/jingle/session.hpp"

#include <boost/asio/post.hpp>

#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/jingle_manager.hpp"

namespace xpmn::jingle {

namespace {

void out_of_order(client::IqResponder& r, const Jingle& j, std::string_view why) {
    r.error(jingle_error("unexpected-request", "out-of-order",
                         std::string(action_name(j.action)) + " " + std::string(why)));
}

void unsupported_info(client::IqResponder& r, const Jingle& j) {
    r.error(jingle_error("feature-not-implemented", "unsupported-info",
                         std::string(action_name(j.action)) + " with this payload is not supported here"));
}

}  // namespace

Session::Session(JingleManager& manager, Role role, client::Peer peer, std::string sid, std::vector<Content> contents)
    : manager_(&manager),
      manager_alive_(manager.alive_),
      role_(role),
      peer_(std::move(peer)),
      sid_(std::move(sid)),
      contents_(std::move(contents)),
      pending_timer_(manager.io()) {}

Session::~Session() { pending_timer_.cancel(); }

void Session::start_pending_timer(std::chrono::milliseconds timeout) {
    pending_timer_.expires_after(timeout);
    pending_timer_.async_wait([w = weak_from_this(), timeout](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (ec || !self || self->state_ != State::Pending) return;
        self->terminate(Reason{"timeout", "the session was not accepted within " +
                                              std::to_string(timeout.count() / 1000) + " s", {}});
    });
}

void Session::send_iq(xml::Element jingle, client::IqCallback done) {
    if (manager_alive_.expired()) return;
    auto iq = stanza::iq("set", peer_.jid.str());
    iq.add_child(std::move(jingle));
    manager_->router().send_iq(std::move(iq), manager_->options().iq_timeout,
                               [w = weak_from_this(), done = std::move(done)](const client::IqResponse& r) {
                                   auto self = w.lock();
                                   // The peer no longer knows the session: it is over here too.
                                   if (self && !r.ok() && r.error().condition == "item-not-found" &&
                                       self->state_ != State::Ended)
                                       self->end(Reason{"general-error", "the peer does not know the session", {}}, true);
                                   if (done) done(r);
                               });
}

void Session::sent_initiate(xml::Element jingle, std::chrono::milliseconds pending_timeout) {
    start_pending_timer(pending_timeout);
    send_iq(std::move(jingle), [w = weak_from_this()](const client::IqResponse& r) {
        auto self = w.lock();
        if (!self) return;
        self->initiate_answered_ = true;
        // Refused outright (service-unavailable, tie-break, …): the session never existed there.
        if (!r.ok() && self->state_ != State::Ended)
            self->end(Reason{"general-error", "session-initiate refused: " + r.error().describe(), {}}, true);
    });
}

void Session::accept(std::vector<Content> contents) {
    if (role_ != Role::Responder || state_ != State::Pending || manager_alive_.expired()) return;
    Jingle j;
    j.action = Action::SessionAccept;
    j.sid = sid_;
    j.responder = manager_->self();
    j.contents = std::move(contents);
    state_ = State::Active;
    pending_timer_.cancel();
    send_iq(make_jingle(j), [w = weak_from_this()](const client::IqResponse& r) {
        auto self = w.lock();
        if (self && !r.ok() && self->state_ != State::Ended)
            self->end(Reason{"general-error", "session-accept refused: " + r.error().describe(), {}}, true);
    });
}

void Session::send(Jingle action, client::IqCallback done) {
    if (state_ == State::Ended) {
        if (done) {
            client::IqResponse r;
            r.failure = Error{"item-not-found", "the Jingle session has ended"};
            boost::asio::post(pending_timer_.get_executor(), [done = std::move(done), r] { done(r); });
        }
        return;
    }
    action.sid = sid_;
    if (action.action == Action::TransportReplace) replace_outstanding_ = true;
    send_iq(make_jingle(action), std::move(done));
}

void Session::terminate(Reason reason) {
    if (state_ == State::Ended) return;
    Jingle j;
    j.action = Action::SessionTerminate;
    j.sid = sid_;
    j.reason = reason;
    send_iq(make_jingle(j), {});
    end(reason, false);
}

void Session::end(const Reason& reason, bool by_peer) {
    if (state_ == State::Ended) return;
    state_ = State::Ended;
    pending_timer_.cancel();
    auto keep = shared_from_this();  // the manager's reference goes now
    if (auto alive = manager_alive_.lock()) manager_->forget(*this);
    auto handlers = std::move(handlers_);  // no handler runs after this one, and none keeps us alive
    handlers_ = {};
    if (handlers.on_ended) handlers.on_ended(reason, by_peer);
}

void Session::receive(const Jingle& j, client::IqResponder r) {
    auto keep = shared_from_this();
    switch (j.action) {
        case Action::SessionAccept:
            if (role_ != Role::Initiator) return out_of_order(r, j, "sent to the session's responder");
            if (state_ != State::Pending) return out_of_order(r, j, "for a session already accepted");
            r.result();
            state_ = State::Active;
            initiate_answered_ = true;
            pending_timer_.cancel();
            if (handlers_.on_accepted) handlers_.on_accepted(j);
            return;
        case Action::SessionTerminate:
            r.result();
            return end(j.reason.value_or(Reason{}), true);
        case Action::SessionInfo:
        case Action::TransportInfo: {
            auto& handler = j.action == Action::SessionInfo ? handlers_.on_session_info : handlers_.on_transport_info;
            if (j.payloads.empty() && j.contents.empty()) return r.result();  // a session ping (§6.8)
            if (!handler) return unsupported_info(r, j);
            r.result();
            auto h = handler;
            return h(j);
        }
        case Action::SecurityInfo: {
            r.result();
            auto h = handlers_.on_security_info;
            if (h) h(j);
            return;
        }
        case Action::TransportReplace: {
            // Crossing transport-replaces (§7.2.16, existing session): the initiator's wins.
            if (replace_outstanding_ && role_ == Role::Initiator)
                return r.error(jingle_error("conflict", "tie-break", "the initiator's transport-replace is pending"));
            r.result();
            replace_outstanding_ = false;
            if (auto h = handlers_.on_transport_replace) return h(j);
            Jingle reject;
            reject.action = Action::TransportReject;
            reject.contents = j.contents;
            return send(std::move(reject));
        }
        case Action::TransportAccept:
        case Action::TransportReject: {
            if (!replace_outstanding_) return out_of_order(r, j, "without a transport-replace");
            r.result();
            replace_outstanding_ = false;
            auto h = handlers_.on_transport_answer;
            if (h) h(j);
            return;
        }
        case Action::ContentAdd: {
            // One content per session is all the applications here use.
            r.result();
            Jingle reject;
            reject.action = Action::ContentReject;
            reject.contents = j.contents;
            return send(std::move(reject));
        }
        case Action::DescriptionInfo:
            return unsupported_info(r, j);
        case Action::SessionInitiate:
            return out_of_order(r, j, "for an existing session");
        case Action::ContentAccept:
        case Action::ContentModify:
        case Action::ContentReject:
        case Action::ContentRemove:
            return r.error(stanza::error_element("feature-not-implemented",
                                                 std::string(action_name(j.action)) + " is not supported here"));
    }
}

}  // namespace xpmn::jingle
