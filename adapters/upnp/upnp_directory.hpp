// The Directory profile over one UPnP ContentDirectory: browse maps to
// BrowseMetadata + BrowseDirectChildren, search to the server's Search when
// its search capabilities cover the terms, else to a bounded recursive
// browse; hits are always checked here (see search_plan.hpp). DIDL-Lite is mapped by mappings/didl; media and
// cover URLs go into the device's transfer table, never onto the wire.
#pragma once

#include <chrono>
#include <functional>
#include <vector>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "adapters/upnp/change_poller.hpp"
#include "adapters/upnp/content_directory.hpp"
#include "bridge/profiles/directory_profile.hpp"
#include "mappings/didl/didl_parser.hpp"
#include "mappings/didl/transfer_table.hpp"

namespace xpmn::upnp {

struct SearchLimits {
    int max_depth = 8;
    int max_objects = 5000;
};

struct DirectoryOptions {
    SearchLimits search;
    std::chrono::milliseconds watch_poll_interval{5000};  // see ChangePoller
};

class UpnpDirectory : public profiles::MediaDirectory, public std::enable_shared_from_this<UpnpDirectory> {
public:
    UpnpDirectory(boost::asio::io_context& io, std::shared_ptr<ContentDirectoryService> cds, std::string device_jid,
                  DirectoryOptions options);

    void browse(const profiles::BrowseRequest& request, profiles::DirectoryCallback done) override;
    void search(const profiles::SearchRequest& request, profiles::DirectoryCallback done) override;
    void watch(const std::set<std::string>& containers, ChangeListener listener) override;
    // From the object's own metadata (BrowseMetadata → parentID).
    void parent_of(const std::string& id, std::function<void(Result<std::string>)> done) override;
    // From the object's own metadata (BrowseMetadata), mapped like a browse's items.
    void item_of(const std::string& id, profiles::DirectoryCallback done) override;

    // The server left: every later request is answered remote-server-not-found.
    void gone();
    mappings::TransferTable& transfers() { return transfers_; }

private:
    struct Walk;
    struct PageFill;
    struct GenaWatch;
    // One chunk of the server's paged answer: (start, count, done).
    using Fetch = std::function<void(std::uint32_t, std::uint32_t, ContentDirectoryService::BrowseCallback)>;
    // Whether a chunk's objects may be passed on as they are.
    using Check = std::function<bool(const std::vector<mappings::MediaObject>&)>;
    // Fills `result` with children [start, start + max) of the server's
    // answer, within the size budget, in chunks (upnp_directory_page.cpp);
    // calls `rejected` instead of `done` when a chunk fails the check.
    void fill_page(xml::Element result, std::uint32_t start, std::uint32_t max, Fetch fetch, Check check,
                   std::function<void()> rejected, profiles::DirectoryCallback done);
    // All hits of the server's Search with `criteria`, or of a walk (nullopt), filtered and paged here.
    void collect(const profiles::SearchRequest& request, std::optional<std::string> criteria,
                 profiles::DirectoryCallback done);
    void search_on_server(const profiles::SearchRequest& request, const std::string& criteria,
                          profiles::DirectoryCallback done);
    std::vector<mappings::MediaObject> objects_of(const CdsResult& page) const;

    std::shared_ptr<ContentDirectoryService> cds_;
    std::string jid_;
    SearchLimits limits_;
    std::shared_ptr<ChangePoller> poller_;
    std::shared_ptr<GenaWatch> gena_;  // while watching
    mappings::TransferTable transfers_;
    std::optional<std::string> capabilities_;
    bool gone_ = false;
    std::size_t child_bytes_ = 400;  // running estimate of one child's serialized size (sizes server requests)
};

}  // namespace xpmn::upnp
