// Watching without GENA. Many servers accept a GENA subscription and then
// never send an event (minidlna 1.3), or never change SystemUpdateID
// (Gerbera 1.1). So while containers are watched, each round asks
// GetSystemUpdateID: a new value is reported as "*" (something changed).
// While it is 0 (a server that does not count, or one that has not seen a
// change since its scan) the round also re-reads the watched containers'
// metadata (BrowseMetadata) and reports each one whose child count, title or
// update id changed, or that is gone. The same happens while
// GetSystemUpdateID fails. One round at a time, a pause between rounds.
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
#include <vector>

#include "adapters/upnp/content_directory.hpp"

namespace xpmn::upnp {

class ChangePoller : public std::enable_shared_from_this<ChangePoller> {
public:
    using Listener = std::function<void(const std::string& container_id, std::uint32_t update_id)>;
    // BrowseMetadata calls per round at most; more watched containers are taken in turns.
    static constexpr std::size_t kMaxContainersPerRound = 50;

    ChangePoller(boost::asio::io_context& io, std::shared_ptr<ContentDirectoryService> cds,
                 std::chrono::milliseconds interval);
    ~ChangePoller();

    // Starts, updates or (empty set) stops polling.
    void watch(const std::set<std::string>& containers, Listener listener);
    // A SystemUpdateID from elsewhere (a GENA event). True when it is news: it
    // differs from the last known value. The poll then neither reports it
    // again nor trusts an answer it asked for before this value came.
    bool offer_system_update_id(std::uint32_t id);

private:
    struct Seen {
        std::size_t fingerprint = 0;
        std::uint32_t reported = 0;  // the update id last reported for this container
    };
    void schedule();
    void round();
    void check_containers(std::vector<std::string> ids, std::size_t next);
    void container_read(const std::string& id, const Result<CdsResult>& metadata);
    void report(const std::string& container_id, std::uint32_t update_id);
    bool current(std::uint64_t generation) const { return generation == generation_ && !containers_.empty(); }

    std::shared_ptr<ContentDirectoryService> cds_;
    std::chrono::milliseconds interval_;
    boost::asio::steady_timer timer_;
    std::set<std::string> containers_;
    Listener listener_;
    std::optional<std::uint32_t> system_;
    std::map<std::string, Seen> seen_;
    std::size_t cursor_ = 0;      // where the next round starts in containers_
    std::uint64_t generation_ = 0;  // a stop/start makes callbacks of older rounds stale
    std::uint64_t offers_ = 0;      // SystemUpdateIDs offered from elsewhere so far
};

}  // namespace xpmn::upnp
