// One Jingle session (XEP-0166) between us and one peer, initiator or
// responder: PENDING → ACTIVE → ENDED. The JingleManager routes the peer's
// actions here after acknowledging them (ack-then-act: the empty IQ result
// leaves before anything the action causes); actions that cannot happen in
// the current state are answered out-of-order instead. Applications drive it
// through accept / send / terminate and learn of events through Handlers.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xmpp/client/peer.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/jingle/jingle_element.hpp"

namespace xpmn::jingle {

class JingleManager;

class Session : public std::enable_shared_from_this<Session> {
public:
    enum class Role { Initiator, Responder };
    enum class State { Pending, Active, Ended };

    // Every handler is optional and runs after the action was acknowledged.
    struct Handlers {
        // Initiator: the responder's session-accept.
        std::function<void(const Jingle&)> on_accepted = {};
        // session-info / transport-info with a payload; without a handler
        // the peer gets feature-not-implemented + <unsupported-info/>.
        std::function<void(const Jingle&)> on_session_info = {};
        std::function<void(const Jingle&)> on_transport_info = {};
        std::function<void(const Jingle&)> on_security_info = {};
        // The peer's transport-replace; without a handler it is answered with transport-reject.
        std::function<void(const Jingle&)> on_transport_replace = {};
        // The peer's transport-accept or transport-reject to our transport-replace.
        std::function<void(const Jingle&)> on_transport_answer = {};
        // Once, when the session ends for any reason. by_peer: the peer
        // ended it (session-terminate, an error reply to our session-initiate
        // or session-accept, unknown-session); else we did (terminate,
        // timeout, the peer went unavailable, a lost tie-break).
        std::function<void(const Reason&, bool by_peer)> on_ended = {};
    };

    Session(JingleManager& manager, Role role, client::Peer peer, std::string sid, std::vector<Content> contents);
    ~Session();

    const std::string& sid() const { return sid_; }
    Role role() const { return role_; }
    State state() const { return state_; }
    // The other party as the router proved it (responder) or as we addressed it (initiator).
    const client::Peer& peer() const { return peer_; }
    // The initiator's contents (as offered, or as we offered them).
    const std::vector<Content>& contents() const { return contents_; }
    void set_handlers(Handlers handlers) { handlers_ = std::move(handlers); }

    // Responder: session-accept with our side of the contents; ACTIVE at once.
    void accept(std::vector<Content> contents);
    // Sends another action (session-info, transport-info, security-info,
    // transport-replace/-accept/-reject); `sid` is filled in. An
    // unknown-session answer ends the session.
    void send(Jingle action, client::IqCallback done = {});
    // session-terminate with `reason`: ENDED at once (XEP-0166 §6.7), on_ended runs.
    void terminate(Reason reason);

private:
    friend class JingleManager;
    // From the manager: an action of the peer on this session (not session-initiate).
    void receive(const Jingle& j, client::IqResponder responder);
    void sent_initiate(xml::Element jingle, std::chrono::milliseconds pending_timeout);
    void start_pending_timer(std::chrono::milliseconds timeout);
    void send_iq(xml::Element jingle, client::IqCallback done);
    // Ends without telling the peer (it already knows, or cannot be told).
    void end(const Reason& reason, bool by_peer);

    JingleManager* manager_;
    std::weak_ptr<JingleManager*> manager_alive_;
    Role role_;
    State state_ = State::Pending;
    client::Peer peer_;
    std::string sid_;
    std::vector<Content> contents_;
    Handlers handlers_;
    boost::asio::steady_timer pending_timer_;
    bool initiate_answered_ = false;  // initiator: the peer acknowledged (or refused) session-initiate
    bool replace_outstanding_ = false;  // we sent transport-replace, no answer yet
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace xpmn::jingle
