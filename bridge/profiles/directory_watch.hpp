// Watching containers (wire profile §5): a browse with subscribe='true' makes
// a node `dyn-…` for (channel, peer, container); changes the media server
// reports are pushed to that peer on that channel as pubsub#event messages,
// at most one per node per 200 ms (the latest wins). A node ends on
// unsubscribe, when its peer leaves the channel (c2s: unavailable presence)
// or when the channel closes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "xmpp/client/peer_channel.hpp"

namespace xpmn::profiles {

class DirectoryWatch : public std::enable_shared_from_this<DirectoryWatch> {
public:
    static constexpr std::chrono::milliseconds kMinInterval{200};
    static constexpr std::size_t kMaxNodes = 1000;  // per device

    using Channel = std::shared_ptr<client::PeerChannel>;

    explicit DirectoryWatch(boost::asio::io_context& io);
    ~DirectoryWatch();

    // Nodes made on `channel` end with it, and with each of its peers that leaves.
    void attach(const Channel& channel);
    // Called after the set of watched containers may have changed.
    void on_watched_changed(std::function<void()> callback) { on_watched_changed_ = std::move(callback); }
    // The node for (channel, peer, container): the same node again when already
    // watched. nullopt when the limit of nodes is reached.
    std::optional<std::string> subscribe(const Channel& channel, const client::Peer& peer,
                                         const std::string& container_id);
    // Only the peer that made the node, on the channel it made it on, ends it.
    bool unsubscribe(const Channel& channel, const client::Peer& peer, const std::string& node);
    // A container changed; container_id "*" means "something changed" (SystemUpdateID).
    void changed(const std::string& container_id, std::uint32_t update_id);
    std::size_t size() const { return nodes_.size(); }
    // Whether anything is watched (the source subscribes to GENA only then).
    bool empty() const { return nodes_.empty(); }
    std::set<std::string> containers() const;

private:
    struct Node {
        std::weak_ptr<client::PeerChannel> channel;
        Jid peer;
        std::string container, name;
        std::chrono::steady_clock::time_point last_sent{};
        std::optional<std::uint32_t> pending;  // update waiting for the interval
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    bool on_channel(const Node& node, const Channel& channel) const;
    // Ends the nodes of `channel` (and of `peer` only, when given).
    void drop(const std::weak_ptr<client::PeerChannel>& channel, const std::optional<Jid>& peer);
    void push(const std::string& name, std::uint32_t update_id);
    void watched_changed();

    boost::asio::io_context& io_;
    std::function<void()> on_watched_changed_;
    std::map<std::string, Node> nodes_;  // by node name
    std::uint64_t counter_ = 0;
};

}  // namespace xpmn::profiles
