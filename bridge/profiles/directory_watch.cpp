#include "bridge/profiles/directory_watch.hpp"

#include <spdlog/spdlog.h>

#include <random>
#include <vector>

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

DirectoryWatch::DirectoryWatch(boost::asio::io_context& io) : io_(io) {}

DirectoryWatch::~DirectoryWatch() {
    for (auto& [n, node] : nodes_)
        if (node.timer) node.timer->cancel();
}

void DirectoryWatch::attach(const std::shared_ptr<client::C2sSession>& session) {
    send_ = [weak = std::weak_ptr<client::C2sSession>(session)](xml::Element message) {
        if (auto s = weak.lock()) s->send(std::move(message));
    };
    // Watches end when the controller goes offline.
    session->router().on_presence([weak = weak_from_this()](const xml::Element& p) {
        auto self = weak.lock();
        if (self && p.attr_or("type") == "unavailable") self->drop_controller(p.attr_or("from"));
    });
}

std::optional<std::string> DirectoryWatch::subscribe(const std::string& controller, const std::string& container) {
    for (auto& [name, node] : nodes_)
        if (node.controller == controller && node.container == container) return name;
    if (nodes_.size() >= kMaxNodes) return std::nullopt;
    static std::mt19937_64 rng{std::random_device{}()};
    std::string name = "dyn-" + std::to_string(++counter_) + "-" + std::to_string(rng() % 1000000);
    Node node;
    node.controller = controller;
    node.container = container;
    node.name = name;
    nodes_.emplace(name, std::move(node));
    spdlog::debug("watch {}: {} watches container {}", name, controller, container);
    watched_changed();
    return name;
}

bool DirectoryWatch::unsubscribe(const std::string& controller, const std::string& node) {
    auto it = nodes_.find(node);
    if (it == nodes_.end() || it->second.controller != controller) return false;
    if (it->second.timer) it->second.timer->cancel();
    nodes_.erase(it);
    watched_changed();
    return true;
}

void DirectoryWatch::drop_controller(const std::string& controller) {
    bool dropped = false;
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        if (it->second.controller == controller) {
            if (it->second.timer) it->second.timer->cancel();
            spdlog::debug("watch {}: ended, {} went offline", it->first, controller);
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
    if (!send_) return;
    xml::Element msg("message", ns::client);
    msg.set_attr("to", node.controller);
    auto& items = msg.add("event", ns::pubsub_event).add("items");
    items.set_attr("node", node.name);
    auto& item = items.add("item");
    item.set_attr("id", "update");
    auto& c = item.add("container", ns::media_metadata);
    c.set_attr("id", node.container);
    c.set_attr("update-id", std::to_string(update_id));
    auto send = send_;  // sending may replace send_
    send(std::move(msg));
}

}  // namespace xpmn::profiles
