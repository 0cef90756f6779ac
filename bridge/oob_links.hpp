// The out-of-band sessions (wire profile §6.2) of one device, by peer. The
// device's Jingle side adds a session once its TLS is up and removes it when
// it ends; profiles (transfer, large Directory results) send sources on the
// session of the peer a request came from. A session counts only for the
// same full JID AND certificate fingerprint as the request's end-to-end
// channel, so bytes never go to anyone the request's TLS did not prove.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

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
    static std::string key(const client::Peer& peer);
    const Link* find(const client::Peer& peer) const;

    std::map<std::string, Link> links_;
    Token next_ = 1;
};

}  // namespace xpmn::bridge
