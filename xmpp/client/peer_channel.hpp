// A stanza channel to peers: where a device's handlers, disco and events are
// installed. Today one per c2s session (many peers, each stanza's peer routed
// by the server); with end-to-end streams one per XTLS stream (one peer,
// proven by its certificate). Profiles see only this interface: the router
// to install handlers on, send, the peers that leave, and the channel's end.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/client/peer.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::client {

class PeerChannel : public std::enable_shared_from_this<PeerChannel> {
public:
    using PeerListener = std::function<void(const Peer&)>;
    using CloseListener = std::function<void()>;

    virtual ~PeerChannel() = default;
    PeerChannel(const PeerChannel&) = delete;
    PeerChannel& operator=(const PeerChannel&) = delete;

    // Handlers installed here answer requests that arrive on this channel.
    virtual StanzaRouter& router() = 0;
    // Sends a stanza to a peer of this channel (`to` names it on c2s; an
    // end-to-end stream has only its one peer).
    virtual void send(xml::Element stanza) = 0;
    // The one peer of an end-to-end stream; nullopt when each stanza has its own (c2s).
    virtual std::optional<Peer> peer() const = 0;
    virtual std::string describe() const = 0;  // for logs

    // A peer can no longer be reached here (c2s: its unavailable presence).
    void on_peer_gone(PeerListener listener) { peer_gone_listeners_.push_back(std::move(listener)); }
    // The channel ended: nothing more arrives or leaves on it. Runs once;
    // a listener added after the end runs at once.
    void on_closed(CloseListener listener);
    bool closed() const { return closed_; }
    // Ends the channel (idempotent). Owners close a channel before dropping it.
    void close();

protected:
    PeerChannel() = default;
    void peer_gone(const Peer& peer);
    // What the subclass lets go of when the channel ends (listeners on a shared router, …).
    virtual void closing() {}

private:
    bool closed_ = false;
    std::vector<PeerListener> peer_gone_listeners_;
    std::vector<CloseListener> close_listeners_;
};

}  // namespace xpmn::client
