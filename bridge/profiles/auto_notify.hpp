// Automatic event delivery of a player device (wire profile §7.3): an owner
// controller whose caps (XEP-0115, in its presence) contain `NODE+notify`
// gets that node's events on its end-to-end stream to the device as if it
// had subscribed (the current item at once), without asking.
//
// Presence arrives on the device's c2s channel: the server broadcasts the
// home account's resources to each other, so only home-account JIDs are
// considered (friends subscribe explicitly). Their caps are learnt (the
// shared CapsCache: one disco#info per ver, verified) only once that JID has
// an owner's end-to-end stream to this device. The delivery ends with the
// stream, with the controller's unavailable presence, or when its caps no
// longer contain the feature; explicit subscriptions are not touched.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/access_policy.hpp"
#include "bridge/profiles/player_events.hpp"
#include "xmpp/client/caps_cache.hpp"
#include "xmpp/client/peer_channel.hpp"

namespace xpmn::profiles {

// The §7.3 nodes whose `+notify` is among `features`.
std::vector<std::string> notify_nodes(const std::vector<std::string>& features);

class AutoNotify : public std::enable_shared_from_this<AutoNotify> {
public:
    static constexpr std::size_t kMaxPresences = 256;  // home-account resources with caps, per device
    using Channel = std::shared_ptr<client::PeerChannel>;

    AutoNotify(std::shared_ptr<const bridge::AccessPolicy> access, std::weak_ptr<PlayerEvents> events,
               std::shared_ptr<client::CapsCache> caps);

    // Every channel of the device: its c2s channel (presence) and the end-to-end streams.
    void attach(const Channel& channel);
    // What a presence on the c2s channel says (public for tests).
    void presence(const xml::Element& presence);

private:
    struct Stream {
        std::weak_ptr<client::PeerChannel> channel;
        client::Peer peer;
    };
    void deliver(const Jid& jid);
    void apply(const Jid& jid, const client::Caps& caps, const std::optional<client::CapsCache::Features>& features);
    std::vector<Stream> live_streams(const Jid& jid);

    std::shared_ptr<const bridge::AccessPolicy> access_;
    std::weak_ptr<PlayerEvents> events_;
    std::shared_ptr<client::CapsCache> caps_cache_;
    std::weak_ptr<client::PeerChannel> c2s_;
    std::map<Jid, client::Caps> caps_;  // home-account resources' announced caps
    std::vector<Stream> streams_;       // owners' end-to-end streams
};

}  // namespace xpmn::profiles
