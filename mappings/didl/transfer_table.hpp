// Per-device map from transfer uid (what goes on the wire) to the LAN URL of
// the media or cover (what never does). Bounded in entries and bytes, oldest
// entry evicted first, so a hostile server cannot grow it without limit.
// Not thread-safe: one table per device, used from that device's loop.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace xpmn::mappings {

class TransferTable {
public:
    explicit TransferTable(std::size_t max_entries = 200'000, std::size_t max_bytes = 64 * 1024 * 1024);
    // order_ points into entries_' nodes: moving keeps them, copying would not.
    TransferTable(const TransferTable&) = delete;
    TransferTable& operator=(const TransferTable&) = delete;
    TransferTable(TransferTable&&) = default;
    TransferTable& operator=(TransferTable&&) = default;

    // Register (or refresh: the URL is replaced and the entry becomes the
    // newest) the media / cover URL of an object; returns its uid.
    std::string add_media(const std::string& object_id, const std::string& url);
    std::string add_cover(const std::string& object_id, const std::string& url);

    std::optional<std::string> resolve(const std::string& uid) const;
    std::size_t size() const { return entries_.size(); }

    // uid = the object id (wire profile example: uid 64$3$2 for object
    // 64$3$2); a cover is "c-" + object id. Object ids are opaque, so an id
    // that itself starts with "c-" or "m-" gets "m-" in front: media and
    // cover uids can then never collide.
    static std::string media_uid(std::string_view object_id);
    static std::string cover_uid(std::string_view object_id);
    // The object a media or cover uid was made for (the inverse of both).
    static std::string object_of(std::string_view uid);

private:
    std::string add(std::string uid, const std::string& url);
    void evict();
    static std::size_t cost(const std::string& uid, const std::string& url);

    struct Entry {
        std::string url;
        std::list<const std::string*>::iterator age;  // position in order_
    };
    std::unordered_map<std::string, Entry> entries_;
    std::list<const std::string*> order_;  // keys of entries_, oldest first (node keys are stable)
    std::size_t max_entries_, max_bytes_, bytes_ = 0;
};

}  // namespace xpmn::mappings
