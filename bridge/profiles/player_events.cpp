#include "bridge/profiles/player_events.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bridge/profiles/channel_scope.hpp"
#include "bridge/profiles/player_xml.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

namespace {

const char* item_id(const std::string& node) { return node == ns::player_status_node ? "status" : "controls"; }

}  // namespace

std::optional<double> position_at(const PlayerStatus& status, std::chrono::steady_clock::time_point read_at,
                                  std::chrono::steady_clock::time_point now) {
    if (!status.position || status.state != PlayState::Playing) return status.position;
    double elapsed = std::chrono::duration<double>(now - read_at).count();
    double p = *status.position + status.rate * std::max(0.0, elapsed);
    if (status.duration && p > *status.duration) p = *status.duration;
    return std::max(0.0, p);
}

PlayerEvents::PlayerEvents(boost::asio::io_context& io, std::weak_ptr<MediaPlayer> player,
                           std::shared_ptr<MuteEmulation> mute, PlayerEventTiming timing, StillAllowed allowed)
    : io_(io),
      player_(std::move(player)),
      mute_(std::move(mute)),
      timing_(std::move(timing)),
      allowed_(std::move(allowed)),
      flush_timer_(io),
      period_timer_(io) {}

PlayerEvents::~PlayerEvents() {
    if (!watching_) return;
    if (auto p = player_.lock()) p->watch({});
}

void PlayerEvents::attach(const Channel& channel) { end_with_channel(channel, weak_from_this(), &PlayerEvents::drop); }

bool PlayerEvents::subscribe(const Channel& channel, const client::Peer& peer, const std::string& node,
                             bool automatic) {
    Sub sub{channel, peer, node, automatic};
    auto known = std::find_if(subs_.begin(), subs_.end(), [&](const Sub& s) {
        return same_channel(s.channel, sub.channel) && s.peer.jid == peer.jid && s.node == node;
    });
    if (known != subs_.end()) {
        if (automatic) return true;  // already delivered to it
        known->automatic = false;
    } else {
        if (subs_.size() >= kMaxSubscriptions) return false;
        subs_.push_back(sub);
        spdlog::debug("player events: {} subscribes to {} on {}{}", peer.describe(), node, channel->describe(),
                      automatic ? " (automatic: its caps)" : "");
        update_watch();
    }
    if (node == ns::player_status_node)
        read_status(sub);
    else
        read_controls(sub);
    return true;
}

bool PlayerEvents::unsubscribe(const Channel& channel, const client::Peer& peer, const std::string& node) {
    std::weak_ptr<client::PeerChannel> weak = channel;
    auto it = std::find_if(subs_.begin(), subs_.end(), [&](const Sub& s) {
        return same_channel(s.channel, weak) && s.peer.jid == peer.jid && s.node == node;
    });
    if (it == subs_.end()) return false;
    subs_.erase(it);
    update_watch();
    return true;
}

void PlayerEvents::end_automatic(const Jid& peer, const std::vector<std::string>& keep) {
    auto before = subs_.size();
    std::erase_if(subs_, [&](const Sub& s) {
        return s.automatic && s.peer.jid == peer && std::find(keep.begin(), keep.end(), s.node) == keep.end();
    });
    if (subs_.size() != before) update_watch();
}

void PlayerEvents::drop(const std::weak_ptr<client::PeerChannel>& channel, const std::optional<Jid>& peer) {
    auto before = subs_.size();
    std::erase_if(subs_, [&](const Sub& s) { return same_channel(s.channel, channel) && (!peer || s.peer.jid == *peer); });
    if (subs_.size() != before) update_watch();
}

bool PlayerEvents::has_node(const std::string& node) const {
    return std::any_of(subs_.begin(), subs_.end(), [&](const Sub& s) { return s.node == node; });
}

void PlayerEvents::update_watch() {
    bool want = !subs_.empty();
    if (!has_node(ns::player_status_node)) period_timer_.cancel();
    if (want == watching_) return;
    auto player = player_.lock();
    if (!player) return;
    watching_ = want;
    if (!want) {
        flush_timer_.cancel();
        flush_armed_ = false;
        dirty_status_ = dirty_controls_ = false;
        status_.reset();
        return player->watch({});
    }
    player->watch([weak = weak_from_this()](const PlayerChange& change) {
        if (auto self = weak.lock()) self->changed(change);
    });
}

void PlayerEvents::changed(const PlayerChange& change) {
    if (!watching_) return;
    dirty_status_ |= change.status || change.seeked;
    dirty_controls_ |= change.controls;
    if (flush_armed_ || !(dirty_status_ || dirty_controls_)) return;
    // The first change of a burst arms the timer; the rest join it.
    flush_armed_ = true;
    flush_timer_.expires_after(timing_.coalesce);
    flush_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self) return;
        self->flush_armed_ = false;
        self->flush();
    });
}

void PlayerEvents::flush() {
    if (std::exchange(dirty_status_, false) && has_node(ns::player_status_node)) read_status(std::nullopt);
    if (std::exchange(dirty_controls_, false) && has_node(ns::player_controls_node)) read_controls(std::nullopt);
}

void PlayerEvents::read_status(std::optional<Sub> only) {
    auto player = player_.lock();
    if (!player) return;
    auto seq = ++status_reads_;
    player->status([weak = weak_from_this(), seq, only = std::move(only)](Result<PlayerStatus> status) {
        auto self = weak.lock();
        if (!self) return;
        if (!status) return spdlog::debug("player events: no status: {}", status.error().describe());
        if (seq > self->status_read_kept_) {
            self->status_read_kept_ = seq;
            self->status_ = std::move(status).value();
            self->read_at_ = self->timing_.now();
            self->arm_period();
        }
        // An older answer after every subscriber left (and status_ was
        // dropped) has nothing to send.
        if (self->status_) self->send(ns::player_status_node, self->status_now(), only);
    });
}

void PlayerEvents::read_controls(std::optional<Sub> only) {
    auto player = player_.lock();
    if (!player) return;
    auto read = mute_->read_starts();
    player->controls([weak = weak_from_this(), only = std::move(only), read](Result<PlayerControls> controls) {
        auto self = weak.lock();
        if (!self) return;
        if (!controls) return spdlog::debug("player events: no controls: {}", controls.error().describe());
        self->send(ns::player_controls_node, controls_element(self->mute_->shown(*controls, read)), only);
    });
}

xml::Element PlayerEvents::status_now() const {
    return status_element(*status_, position_at(*status_, read_at_, timing_.now()));
}

void PlayerEvents::arm_period() {
    period_timer_.cancel();
    if (!status_ || status_->state != PlayState::Playing || !has_node(ns::player_status_node)) return;
    period_timer_.expires_after(timing_.period);
    period_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || !self->status_) return;
        self->send(ns::player_status_node, self->status_now(), std::nullopt);
        self->arm_period();
    });
}

void PlayerEvents::send(const std::string& node, const xml::Element& payload, const std::optional<Sub>& only) {
    // A copy: sending may close a channel, which ends its subscriptions.
    std::vector<Sub> targets;
    if (only) {
        targets.push_back(*only);
    } else {
        for (const auto& s : subs_)
            if (s.node == node) targets.push_back(s);
    }
    for (const auto& s : targets) {
        auto channel = s.channel.lock();
        if (!channel || channel->closed()) continue;
        if (allowed_ && !allowed_(s.peer)) {
            spdlog::info("player events: {} may no longer receive {}; subscription ended", s.peer.describe(), node);
            std::erase_if(subs_, [&](const Sub& x) { return same_channel(x.channel, s.channel) && x.peer.jid == s.peer.jid; });
            update_watch();
            continue;
        }
        channel->send(event_message(s.peer.jid.str(), node, item_id(node), payload));
    }
}

}  // namespace xpmn::profiles
