#include "mappings/didl/transfer_table.hpp"

#include <algorithm>

namespace xpmn::mappings {

namespace {
constexpr std::size_t kEntryOverhead = 96;  // map node, list node, string headers (approximate)
}

TransferTable::TransferTable(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(std::max<std::size_t>(max_entries, 1)), max_bytes_(max_bytes) {}

std::string TransferTable::media_uid(std::string_view object_id) {
    bool reserved = object_id.substr(0, 2) == "c-" || object_id.substr(0, 2) == "m-";
    return (reserved ? "m-" : "") + std::string(object_id);
}

std::string TransferTable::cover_uid(std::string_view object_id) { return "c-" + std::string(object_id); }

std::string TransferTable::object_of(std::string_view uid) {
    bool prefixed = uid.substr(0, 2) == "c-" || uid.substr(0, 2) == "m-";
    return std::string(prefixed ? uid.substr(2) : uid);
}

std::string TransferTable::add_media(const std::string& object_id, const std::string& url) {
    return add(media_uid(object_id), url);
}

std::string TransferTable::add_cover(const std::string& object_id, const std::string& url) {
    return add(cover_uid(object_id), url);
}

std::size_t TransferTable::cost(const std::string& uid, const std::string& url) {
    return 2 * uid.size() + url.size() + kEntryOverhead;  // the uid is stored once, the list holds a pointer
}

std::string TransferTable::add(std::string uid, const std::string& url) {
    if (auto it = entries_.find(uid); it != entries_.end()) {
        bytes_ = bytes_ - cost(uid, it->second.url) + cost(uid, url);
        it->second.url = url;
        order_.splice(order_.end(), order_, it->second.age);  // now the newest
    } else {
        auto [ins, _] = entries_.emplace(uid, Entry{url, {}});
        ins->second.age = order_.insert(order_.end(), &ins->first);
        bytes_ += cost(uid, url);
    }
    evict();
    return uid;
}

void TransferTable::evict() {
    // The newest entry always stays, even if it alone exceeds max_bytes.
    while (order_.size() > 1 && (entries_.size() > max_entries_ || bytes_ > max_bytes_)) {
        auto it = entries_.find(*order_.front());
        bytes_ -= cost(it->first, it->second.url);
        order_.pop_front();
        entries_.erase(it);
    }
}

std::optional<std::string> TransferTable::resolve(const std::string& uid) const {
    auto it = entries_.find(uid);
    if (it == entries_.end()) return std::nullopt;
    return it->second.url;
}

}  // namespace xpmn::mappings
