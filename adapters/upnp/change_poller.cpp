#include "adapters/upnp/change_poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "mappings/didl/didl_parser.hpp"

namespace xpmn::upnp {

ChangePoller::ChangePoller(boost::asio::io_context& io, std::shared_ptr<ContentDirectoryService> cds,
                           std::chrono::milliseconds interval)
    : cds_(std::move(cds)), interval_(interval), timer_(io) {}

ChangePoller::~ChangePoller() { timer_.cancel(); }

void ChangePoller::watch(const std::set<std::string>& containers, Listener listener) {
    bool was_running = !containers_.empty();
    containers_ = containers;
    listener_ = std::move(listener);
    std::erase_if(seen_, [&](const auto& entry) { return !containers_.count(entry.first); });
    if (containers_.empty()) {
        ++generation_;
        timer_.cancel();
        system_.reset();
        return;
    }
    if (!was_running) {
        ++generation_;
        round();  // the first round only learns the current state
    }
}

void ChangePoller::schedule() {
    timer_.expires_after(interval_);
    timer_.async_wait([weak = weak_from_this(), generation = generation_](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || !self->current(generation)) return;
        self->round();
    });
}

bool ChangePoller::offer_system_update_id(std::uint32_t id) {
    ++offers_;
    bool news = system_ && *system_ != id;
    system_ = id;
    return news;
}

void ChangePoller::report(const std::string& container_id, std::uint32_t update_id) {
    auto listener = listener_;  // the listener may change what it runs from
    if (listener) listener(container_id, update_id);
}

void ChangePoller::round() {
    cds_->system_update_id([weak = weak_from_this(), generation = generation_,
                            offers = offers_](const Result<std::uint32_t>& r) {
        auto self = weak.lock();
        if (!self || !self->current(generation)) return;
        if (!r.ok()) spdlog::debug("upnp watch: {}", r.error().describe());
        // An answer older than a value GENA brought in the meantime is stale.
        if (r.ok() && offers == self->offers_) {
            std::uint32_t id = r.value();
            bool changed = self->system_ && *self->system_ != id;
            self->system_ = id;
            if (changed) self->report("*", id);
        }
        if (r.ok() && self->system_ && *self->system_ != 0) return self->schedule();
        // The server does not count (yet), or cannot say: look at the containers themselves.
        std::vector<std::string> ids(self->containers_.begin(), self->containers_.end());
        if (self->cursor_ >= ids.size()) self->cursor_ = 0;
        std::rotate(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(self->cursor_), ids.end());
        if (ids.size() > kMaxContainersPerRound) ids.resize(kMaxContainersPerRound);
        self->cursor_ += ids.size();
        self->check_containers(std::move(ids), 0);
    });
}

void ChangePoller::check_containers(std::vector<std::string> ids, std::size_t next) {
    if (next >= ids.size()) return schedule();
    std::string id = ids[next];
    cds_->browse(id, true, 0, 1,
                 [weak = weak_from_this(), generation = generation_, ids = std::move(ids), next,
                  id](const Result<CdsResult>& r) mutable {
                     auto self = weak.lock();
                     if (!self || !self->current(generation)) return;
                     if (self->containers_.count(id)) self->container_read(id, r);
                     self->check_containers(std::move(ids), next + 1);
                 });
}

void ChangePoller::container_read(const std::string& id, const Result<CdsResult>& reply) {
    auto it = seen_.find(id);
    if (!reply.ok()) {
        spdlog::debug("upnp watch: container {}: {}", id, reply.error().describe());
        // A watched container that is gone changed, once.
        if (reply.error().condition == "item-not-found" && it != seen_.end()) {
            std::uint32_t next = it->second.reported + 1;
            seen_.erase(it);
            report(id, next);
        }
        return;
    }
    // What tells a change: child count, title and the update id (not the whole
    // document, which may carry per-request values such as URL tokens).
    const CdsResult& metadata = reply.value();
    auto parsed = mappings::parse_didl(metadata.didl);
    std::string key = std::to_string(metadata.update_id);
    if (parsed && !parsed->objects.empty()) {
        const auto& o = parsed->objects.front();
        key += "/" + (o.child_count ? std::to_string(*o.child_count) : std::string("-")) + "/" + o.title;
    } else {
        key += "/" + metadata.didl;
    }
    std::size_t fingerprint = std::hash<std::string>{}(key);
    if (it == seen_.end()) {
        seen_[id] = {fingerprint, metadata.update_id};
        return;
    }
    Seen& seen = it->second;
    if (seen.fingerprint == fingerprint) return;
    seen.fingerprint = fingerprint;
    // Report an update id that moves even when the server's does not.
    seen.reported = std::max(metadata.update_id, seen.reported + 1);
    report(id, seen.reported);
}

}  // namespace xpmn::upnp
