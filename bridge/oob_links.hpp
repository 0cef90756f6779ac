// The out-of-band sessions (wire profile §6.2) of one device, by peer. The
// device's Jingle side adds a session once its TLS is up and removes it when
// it ends; profiles (transfer, large Directory results) send sources on the
// session of the peer a request came from. A session counts only for the
// same full JID AND certificate fingerprint as the request's end-to-end
// channel, so bytes never go to anyone the request's TLS did not prove.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/client/peer.hpp"
#include "xmpp/oob/source.hpp"

namespace xpmn::bridge {

class OobLinks {
public:
    // Starts sending `source` as a new id; returns the id.
    using Send = std::function<std::string(oob::SourcePtr source)>;
    using Abort = std::function<void(const std::string& id)>;
    using Token = std::uint64_t;

    // A session to `peer` (full JID + fingerprint) is up. A newer session of
    // the same peer replaces an older one.
    Token add(const client::Peer& peer, Send send, Abort abort = {});
    // The session ended (a token that was replaced or removed is ignored).
    void remove(Token token);

    bool ready(const client::Peer& peer) const;
    // Whether a session of that full JID is being set up (accepted, its TLS
    // not up yet): given by the device's OOB endpoint.
    using SettingUp = std::function<bool(const Jid&)>;
    void set_setting_up(SettingUp probe) { setting_up_ = std::move(probe); }
    bool setting_up(const client::Peer& peer) const {
        return peer.end_to_end() && setting_up_ && setting_up_(peer.jid);
    }
    // For a peer whose session is setting_up(): done(true) when it comes up
    // (TLS 1.3 lets the controller send its first request before the
    // device's side of the handshake is done), done(false) after `wait`
    // (or at once, from the executor, when it is no longer being set up).
    // Never called from inside this call.
    void when_ready(const client::Peer& peer, const boost::asio::any_io_executor& executor,
                    std::chrono::milliseconds wait, std::function<void(bool)> done);
    // nullopt when the peer has no session.
    // nullopt when the peer has no session (or it could not take the source).
    std::optional<std::string> send(const client::Peer& peer, oob::SourcePtr source) const;
    // Stops sending the peer's id (an unknown id is fine: it may have ended);
    // false when the peer has no session.
    bool abort(const client::Peer& peer, const std::string& id) const;
    std::size_t size() const { return links_.size(); }

private:
    struct Link {
        Token token;
        Send send;
        Abort abort;
    };
    struct Waiter;
    static std::string key(const client::Peer& peer);
    const Link* find(const client::Peer& peer) const;

    std::map<std::string, Link> links_;
    SettingUp setting_up_;
    std::multimap<std::string, std::shared_ptr<Waiter>> waiters_;  // by key()
    Token next_ = 1;
};

}  // namespace xpmn::bridge
