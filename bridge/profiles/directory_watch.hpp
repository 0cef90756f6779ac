// Watching containers (wire profile §5): a browse with subscribe='true' makes
// a node `dyn-…` for (controller, container); changes the media server
// reports are pushed to the controller as pubsub#event messages, at most one
// per node per 200 ms (the latest wins). A node ends on unsubscribe or when
// the controller's full JID goes offline.
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

#include "xmpp/client/c2s_session.hpp"

namespace xpmn::profiles {

class DirectoryWatch : public std::enable_shared_from_this<DirectoryWatch> {
public:
    static constexpr std::chrono::milliseconds kMinInterval{200};
    static constexpr std::size_t kMaxNodes = 1000;  // per device

    explicit DirectoryWatch(boost::asio::io_context& io);
    ~DirectoryWatch();

    using Sender = std::function<void(xml::Element message)>;

    // Events go out on this session; its unavailable presences end watches.
    void attach(const std::shared_ptr<client::C2sSession>& session);
    // Where events go (attach sets it to the session; tests set their own).
    void set_sender(Sender sender) { send_ = std::move(sender); }
    // Called after the set of watched containers may have changed.
    void on_watched_changed(std::function<void()> callback) { on_watched_changed_ = std::move(callback); }
    // The node for (controller, container): the same node again when already watched.
    // nullopt when the limit of nodes is reached.
    std::optional<std::string> subscribe(const std::string& controller, const std::string& container_id);
    bool unsubscribe(const std::string& controller, const std::string& node);
    void drop_controller(const std::string& controller);
    // A container changed; container_id "*" means "something changed" (SystemUpdateID).
    void changed(const std::string& container_id, std::uint32_t update_id);
    std::size_t size() const { return nodes_.size(); }
    // Whether anything is watched (the source subscribes to GENA only then).
    bool empty() const { return nodes_.empty(); }
    std::set<std::string> containers() const;

private:
    struct Node {
        std::string controller, container, name;
        std::chrono::steady_clock::time_point last_sent{};
        std::optional<std::uint32_t> pending;  // update waiting for the interval
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    void push(const std::string& name, std::uint32_t update_id);
    void watched_changed();

    boost::asio::io_context& io_;
    Sender send_;
    std::function<void()> on_watched_changed_;
    std::map<std::string, Node> nodes_;  // by node name
    std::uint64_t counter_ = 0;
};

}  // namespace xpmn::profiles
