#include "bridge/profiles/auto_notify.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bridge/profiles/channel_scope.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

std::vector<std::string> notify_nodes(const std::vector<std::string>& features) {
    std::vector<std::string> nodes;
    for (const char* node : {ns::player_status_node, ns::player_controls_node})
        if (std::find(features.begin(), features.end(), std::string(node) + "+notify") != features.end())
            nodes.emplace_back(node);
    return nodes;
}

AutoNotify::AutoNotify(std::shared_ptr<const bridge::AccessPolicy> access, std::weak_ptr<PlayerEvents> events,
                       std::shared_ptr<client::CapsCache> caps)
    : access_(std::move(access)), events_(std::move(events)), caps_cache_(std::move(caps)) {}

void AutoNotify::attach(const Channel& channel) {
    std::weak_ptr<client::PeerChannel> weak = channel;
    if (!channel->peer()) {
        // The c2s channel: presence of the account's resources. A new session
        // is a new channel, and the resources send their presence again.
        c2s_ = channel;
        auto id = channel->router().on_presence([self = weak_from_this()](const xml::Element& p) {
            if (auto s = self.lock()) s->presence(p);
        });
        channel->on_closed([self = weak_from_this(), weak, id] {
            if (auto c = weak.lock()) c->router().remove_listener(id);
            if (auto s = self.lock(); s && same_channel(s->c2s_, weak)) s->caps_.clear();
        });
        return;
    }
    const client::Peer peer = *channel->peer();
    auto admitted = access_->admit(peer);
    if (!admitted || admitted.role != bridge::PeerRole::Owner) return;  // friends subscribe explicitly
    std::erase_if(streams_, [](const Stream& s) { return s.channel.expired(); });
    streams_.push_back(Stream{weak, peer});
    channel->on_closed([self = weak_from_this(), weak] {
        if (auto s = self.lock()) std::erase_if(s->streams_, [&](const Stream& x) { return same_channel(x.channel, weak); });
    });
    deliver(peer.jid);
}

void AutoNotify::presence(const xml::Element& p) {
    auto from = Jid::parse(p.attr_or("from"));
    if (!from || from->is_bare() || from->bare() != access_->home().bare()) return;
    const std::string type = p.attr_or("type");
    if (!type.empty() && type != "unavailable") return;  // subscriptions, probes, errors
    auto caps = type.empty() ? client::read_caps(p) : std::nullopt;
    if (!caps) {
        caps_.erase(*from);
        if (auto events = events_.lock()) events->end_automatic(*from);
        return;
    }
    auto known = caps_.find(*from);
    if (known != caps_.end() && known->second == *caps) return;  // a presence update with the same caps
    if (known == caps_.end() && caps_.size() >= kMaxPresences) return;
    caps_[*from] = *caps;
    deliver(*from);
}

std::vector<AutoNotify::Stream> AutoNotify::live_streams(const Jid& jid) {
    std::vector<Stream> out;
    for (const auto& s : streams_) {
        auto c = s.channel.lock();
        if (c && !c->closed() && s.peer.jid == jid) out.push_back(s);
    }
    return out;
}

void AutoNotify::deliver(const Jid& jid) {
    auto known = caps_.find(jid);
    auto c2s = c2s_.lock();
    if (known == caps_.end() || !c2s || c2s->closed() || live_streams(jid).empty()) return;
    const client::Caps caps = known->second;
    caps_cache_->features(caps, jid.str(), c2s->router(),
                          [self = weak_from_this(), jid, caps](std::optional<client::CapsCache::Features> features) {
                              if (auto s = self.lock()) s->apply(jid, caps, features);
                          });
}

void AutoNotify::apply(const Jid& jid, const client::Caps& caps,
                       const std::optional<client::CapsCache::Features>& features) {
    auto known = caps_.find(jid);
    if (known == caps_.end() || !(known->second == caps)) return;  // changed meanwhile: the newer one applies
    auto events = events_.lock();
    if (!events) return;
    const auto nodes = features ? notify_nodes(*features) : std::vector<std::string>{};
    events->end_automatic(jid, nodes);
    for (const auto& s : live_streams(jid)) {
        auto channel = s.channel.lock();
        for (const auto& node : nodes) {
            if (!channel || channel->closed()) break;
            if (!events->subscribe(channel, s.peer, node, true))
                spdlog::warn("player events: no automatic delivery of {} to {}: too many subscriptions", node,
                             s.peer.describe());
        }
    }
}

}  // namespace xpmn::profiles
