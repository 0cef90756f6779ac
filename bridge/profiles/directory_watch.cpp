#include "bridge/profiles/directory_watch.hpp"

#include <spdlog/spdlog.h>

#include <random>
#include <vector>

#include "bridge/profiles/channel_scope.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

DirectoryWatch::DirectoryWatch(boost::asio::io_context& io) : io_(io) {}

DirectoryWatch::~DirectoryWatch() {
    for (auto& [n, node] : nodes_)
        if (node.timer) node.timer->cancel();
}

void DirectoryWatch::attach(const Channel& channel) { end_with_channel(channel, weak_from_this(), &DirectoryWatch::drop); }

bool DirectoryWatch::on_channel(const Node& node, const Channel& channel) const {
    return same_channel(node.channel, channel);
}

std::optional<std::string> DirectoryWatch::subscribe(const Channel& channel, const client::Peer& peer,
                                                     const std::string& container) {
    for (auto& [name, node] : nodes_)
        if (on_channel(node, channel) && node.peer == peer.jid && node.container == container) return name;
    if (nodes_.size() >= kMaxNodes) return std::nullopt;
    static std::mt19937_64 rng{std::random_device{}()};
    std::string name = "dyn-" + std::to_string(++counter_) + "-" + std::to_string(rng() % 1000000);
    Node node;
    node.channel = channel;
    node.peer = peer.jid;
    node.container = container;
    node.name = name;
    nodes_.emplace(name, std::move(node));
    spdlog::debug("watch {}: {} watches container {} on {}", name, peer.describe(), container, channel->describe());
    watched_changed();
    return name;
}

bool DirectoryWatch::unsubscribe(const Channel& channel, const client::Peer& peer, const std::string& node) {
    auto it = nodes_.find(node);
    if (it == nodes_.end() || !on_channel(it->second, channel) || it->second.peer != peer.jid) return false;
    if (it->second.timer) it->second.timer->cancel();
    nodes_.erase(it);
    watched_changed();
    return true;
}

void DirectoryWatch::drop(const std::weak_ptr<client::PeerChannel>& channel, const std::optional<Jid>& peer) {
    bool dropped = false;
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        if (same_channel(it->second.channel, channel) && (!peer || it->second.peer == *peer)) {
            if (it->second.timer) it->second.timer->cancel();
            if (peer)
                spdlog::debug("watch {}: ended, {} went offline", it->first, peer->str());
            else
                spdlog::debug("watch {}: ended with its channel", it->first);
            it = nodes_.erase(it);
            dropped = true;
        } else {
            ++it;
        }
    }
    if (dropped) watched_changed();
}

std::set<std::string> DirectoryWatch::containers() const {
    std::set<std::string> out;
    for (const auto& [name, node] : nodes_) out.insert(node.container);
    return out;
}

void DirectoryWatch::watched_changed() {
    if (on_watched_changed_) on_watched_changed_();
}

void DirectoryWatch::changed(const std::string& container_id, std::uint32_t update_id) {
    auto now = std::chrono::steady_clock::now();
    // Names first: sending may end nodes (nodes_ changes under a loop over it).
    std::vector<std::string> names;
    for (const auto& [name, node] : nodes_)
        if (container_id == "*" || node.container == container_id) names.push_back(name);
    for (const auto& name : names) {
        auto it = nodes_.find(name);
        if (it == nodes_.end()) continue;
        Node& node = it->second;
        if (now - node.last_sent >= kMinInterval && !node.pending) {
            push(name, update_id);
            continue;
        }
        // Within the interval: remember the latest and send it when the interval is over.
        bool armed = node.pending.has_value();
        node.pending = update_id;
        if (armed) continue;
        if (!node.timer) node.timer = std::make_unique<boost::asio::steady_timer>(io_);
        node.timer->expires_at(node.last_sent + kMinInterval);
        node.timer->async_wait([weak = weak_from_this(), name](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self) return;
            auto it = self->nodes_.find(name);
            if (it == self->nodes_.end() || !it->second.pending) return;
            auto id = *it->second.pending;
            it->second.pending.reset();
            self->push(name, id);
        });
    }
}

void DirectoryWatch::push(const std::string& name, std::uint32_t update_id) {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    Node& node = it->second;
    node.last_sent = std::chrono::steady_clock::now();
    auto channel = node.channel.lock();
    if (!channel || channel->closed()) return;
    xml::Element msg("message", ns::client);
    msg.set_attr("to", node.peer.str());
    auto& items = msg.add("event", ns::pubsub_event).add("items");
    items.set_attr("node", node.name);
    auto& item = items.add("item");
    item.set_attr("id", "update");
    auto& c = item.add("container", ns::media_metadata);
    c.set_attr("id", node.container);
    c.set_attr("update-id", std::to_string(update_id));
    channel->send(std::move(msg));  // may end nodes (nodes_ changes)
}

}  // namespace xpmn::profiles
