#include "adapters/upnp/change_poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace xpmn::upnp {

ChangePoller::ChangePoller(boost::asio::io_context& io, std::shared_ptr<ContentDirectory> cds,
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

void ChangePoller::round() {
    cds_->system_update_id([weak = weak_from_this(), generation = generation_](const CdsReply<std::uint32_t>& r) {
        auto self = weak.lock();
        if (!self || !self->current(generation)) return;
        if (!r.ok()) {
            spdlog::debug("upnp watch: {}", r.error.message);
            return self->schedule();
        }
        std::uint32_t id = *r.value;
        bool changed = self->system_ && *self->system_ != id;
        self->system_ = id;
        if (changed) self->listener_("*", id);
        if (id != 0) return self->schedule();
        // The server does not count (yet): look at the containers themselves.
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
                  id](const CdsReply<CdsResult>& r) mutable {
                     auto self = weak.lock();
                     if (!self || !self->current(generation)) return;
                     if (r.ok() && self->containers_.count(id))
                         self->container_read(id, *r.value);
                     else if (!r.ok())
                         spdlog::debug("upnp watch: container {}: {}", id, r.error.message);
                     self->check_containers(std::move(ids), next + 1);
                 });
}

void ChangePoller::container_read(const std::string& id, const CdsResult& metadata) {
    std::size_t fingerprint = std::hash<std::string>{}(metadata.didl) ^ (std::size_t{metadata.update_id} << 1);
    auto [it, fresh] = seen_.try_emplace(id);
    Seen& seen = it->second;
    if (fresh) {
        seen.fingerprint = fingerprint;
        seen.reported = metadata.update_id;
        return;
    }
    if (seen.fingerprint == fingerprint) return;
    seen.fingerprint = fingerprint;
    // Report an update id that moves even when the server's does not.
    seen.reported = std::max(metadata.update_id, seen.reported + 1);
    listener_(id, seen.reported);
}

}  // namespace xpmn::upnp
