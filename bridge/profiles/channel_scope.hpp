// What a profile keeps per channel (directory watches, player subscriptions)
// ends with the channel, and per peer when that peer leaves it (c2s:
// unavailable presence).
#pragma once

#include <memory>
#include <optional>

#include "xmpp/client/peer_channel.hpp"

namespace xpmn::profiles {

using WeakChannel = std::weak_ptr<client::PeerChannel>;

// Same channel object: compared by ownership, so a channel that is gone is
// never confused with a new one at the same address.
inline bool same_channel(const WeakChannel& a, const WeakChannel& b) { return !a.owner_before(b) && !b.owner_before(a); }

// Calls (owner->*drop)(channel, peer) when a peer leaves `channel` and
// (owner->*drop)(channel, nullopt) when it closes, while `owner` lives.
template <class T>
void end_with_channel(const std::shared_ptr<client::PeerChannel>& channel, std::weak_ptr<T> owner,
                      void (T::*drop)(const WeakChannel&, const std::optional<Jid>&)) {
    WeakChannel weak_channel = channel;
    channel->on_peer_gone([owner, weak_channel, drop](const client::Peer& peer) {
        if (auto self = owner.lock()) (self.get()->*drop)(weak_channel, peer.jid);
    });
    channel->on_closed([owner, weak_channel, drop] {
        if (auto self = owner.lock()) (self.get()->*drop)(weak_channel, std::nullopt);
    });
}

}  // namespace xpmn::profiles
