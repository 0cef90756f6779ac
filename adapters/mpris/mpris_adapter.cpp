#include "adapters/mpris/mpris_adapter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <sdbus-c++/sdbus-c++.h>
#include <utility>

#include "adapters/mpris/cover_art.hpp"
#include "adapters/mpris/mpris_player.hpp"
#include "adapters/mpris/mpris_signals.hpp"
#include "adapters/mpris/player_names.hpp"
#include "bridge/device.hpp"
#include "bridge/profiles/player_profile.hpp"

namespace xpmn::mpris {

MprisAdapter::MprisAdapter(const bridge::AdapterContext& context, MprisConfig config)
    : host_(context.host),
      access_(context.access),
      playables_(context.playables),
      caps_(context.caps),
      account_(context.config.xmpp.jid.bare().str()),
      config_(std::move(config)),
      retry_(context.host.io()) {}

MprisAdapter::~MprisAdapter() {
    *alive_ = false;
    for (auto& [key, p] : players_)
        if (p.player) p.player->gone();
    players_.clear();
    daemon_.reset();  // proxies before the connection
    signals_.reset();
    bus_.reset();
}

void MprisAdapter::start() {
    if (!config_.enabled) return;
    if (connect()) list_names();
    else connect_later();
}

bool MprisAdapter::connect() {
    try {
        bus_ = std::make_unique<loop::SdbusIntegration>(host_.io(), loop::SdbusIntegration::connect(config_.bus));
        // Before anything is issued on it: a connection that breaks at once is reported too.
        bus_->on_disconnected([this, alive = alive_](const std::string&) {
            if (*alive) disconnected();
        });
        signals_ = std::make_unique<MprisSignals>(
            *bus_, [this](const std::string& name, const std::string& old_owner, const std::string& new_owner) {
                if (!old_owner.empty()) name_released(name, old_owner);
                if (!new_owner.empty()) name_owned(name, new_owner);
            });
        daemon_ = sdbus::createProxy(bus_->connection(), "org.freedesktop.DBus", "/org/freedesktop/DBus");
    } catch (const std::exception& e) {
        // A bridge without a D-Bus session (a headless NAS box) still serves the rest.
        if (!std::exchange(reported_unreachable_, true))
            spdlog::error("mpris: cannot use the D-Bus bus '{}': {}; no players until it can", config_.bus,
                          e.what());
        else
            spdlog::debug("mpris: the D-Bus bus '{}' is still unreachable: {}", config_.bus, e.what());
        daemon_.reset();
        signals_.reset();
        bus_.reset();
        return false;
    }
    if (std::exchange(reported_unreachable_, false)) spdlog::info("mpris: connected to the D-Bus bus '{}'", config_.bus);
    retry_after_ = kFirstRetry;
    return true;
}

// sdbus-c++ 1.2 leaks an sd_bus on every failed connection to an explicit
// address that is not pre-checked (loop::SdbusIntegration::connect): those
// are not retried, or a bus that stays away would make the bridge grow.
bool MprisAdapter::retried() const {
    const std::string& bus = config_.bus;
    return bus.empty() || bus == "session" || bus == "system" || bus.rfind("unix:path=", 0) == 0;
}

void MprisAdapter::connect_later() {
    if (!retried()) {
        spdlog::error("mpris: the D-Bus bus '{}' is not tried again (only session, system and unix:path= buses are)",
                      config_.bus);
        return;
    }
    retry_.expires_after(retry_after_);
    retry_after_ = std::min(retry_after_ * 2, kMaxRetry);
    retry_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive || stopped_) return;
        if (connect()) list_names();
        else connect_later();
    });
}

void MprisAdapter::stop() {
    stopped_ = true;
    retry_.cancel();
    auto players = std::move(players_);
    players_.clear();
    for (auto& [key, p] : players) {
        if (p.player) p.player->gone();
        if (!p.resource.empty()) host_.remove(p.resource);
    }
}

void MprisAdapter::list_names() {
    const auto timeout = std::chrono::milliseconds(config_.call_timeout_ms);
    try {  // from a timer's handler too: nothing may throw out of the loop
        daemon_->callMethodAsync("ListNames")
            .onInterface("org.freedesktop.DBus")
            .withTimeout(timeout)
            .uponReplyInvoke([this, alive = alive_, timeout](const sdbus::Error* err, std::vector<std::string> names) {
                if (!*alive || stopped_) return;
                if (err) return spdlog::error("mpris: ListNames failed: {}", err->getMessage());
                // Nothing may throw out of an sd-bus handler (it would unwind through sd_bus_process).
                try {
                    for (const auto& name : names) {
                        if (!mpris_suffix(name)) continue;
                        daemon_->callMethodAsync("GetNameOwner")
                            .onInterface("org.freedesktop.DBus")
                            .withTimeout(timeout)
                            .withArguments(name)
                            .uponReplyInvoke([this, alive, name](const sdbus::Error* e, std::string owner) {
                                if (*alive && !stopped_ && !e) name_owned(name, owner);
                            });
                    }
                } catch (const std::exception& e) {
                    spdlog::error("mpris: asking for the players' owners failed: {}", e.what());
                }
            });
    } catch (const std::exception& e) {
        spdlog::error("mpris: cannot list the players: {}", e.what());
        if (bus_ && bus_->connected()) disconnected();  // start over on a new connection
        return;
    }
    bus_->issued();
}

void MprisAdapter::name_owned(const std::string& name, const std::string& owner) {
    auto suffix = mpris_suffix(name);
    if (!suffix || stopped_) return;
    if (auto known = owner_keys_.find(owner); known != owner_keys_.end())
        return add_name(known->second, *suffix, owner);
    if (!identifying_.contains(owner) && players_.size() + identifying_.size() >= kMaxPlayers) {
        spdlog::warn("mpris: {} ignored: already {} players on the bus (the limit)", name, kMaxPlayers);
        return;
    }
    auto& waiting = identifying_[owner];
    waiting.push_back(*suffix);
    if (waiting.size() > 1) return;  // its process is being asked for already
    try {  // called from sd-bus handlers: nothing may throw out of here
        daemon_->callMethodAsync("GetConnectionUnixProcessID")
            .onInterface("org.freedesktop.DBus")
            .withTimeout(std::chrono::milliseconds(config_.call_timeout_ms))
            .withArguments(owner)
            .uponReplyInvoke([this, alive = alive_, owner](const sdbus::Error* e, std::uint32_t pid) {
                if (!*alive || stopped_) return;
                // Without a pid (a remote bus), each connection is a player of its own.
                owner_identified(owner, e ? owner : "pid:" + std::to_string(pid));
            });
    } catch (const std::exception& e) {
        identifying_.erase(owner);
        spdlog::error("mpris: cannot ask which process owns {}: {}", name, e.what());
    }
    bus_->issued();
}

void MprisAdapter::owner_identified(const std::string& owner, const std::string& key) {
    auto it = identifying_.find(owner);
    if (it == identifying_.end()) return;  // released meanwhile
    const std::vector<std::string> suffixes = std::move(it->second);
    identifying_.erase(it);
    owner_keys_[owner] = key;
    for (const auto& suffix : suffixes) add_name(key, suffix, owner);
}

void MprisAdapter::add_name(const std::string& key, const std::string& suffix, const std::string& owner) {
    Player& p = players_[key];
    p.names[suffix] = owner;
    if (p.player) {
        signals_->attach(owner, p.player);  // a second connection of a known player
        return;
    }
    try {
        p.player = std::make_shared<MprisPlayer>(*bus_, owner, std::chrono::milliseconds(config_.call_timeout_ms));
    } catch (const std::exception& e) {
        spdlog::error("mpris: cannot talk to {} ({}): {}", suffix, owner, e.what());
        players_.erase(key);
        return;
    }
    signals_->attach(owner, p.player);
    p.player->identity([this, alive = alive_, key](Result<std::string> identity) {
        if (*alive) probed(key, std::move(identity));
    });
}

void MprisAdapter::probed(const std::string& key, Result<std::string> identity) {
    auto it = players_.find(key);
    if (it == players_.end() || stopped_) return;
    Player& p = it->second;
    std::vector<std::string> suffixes;
    for (const auto& [suffix, owner] : p.names) suffixes.push_back(suffix);
    const std::string suffix = preferred_suffix(suffixes);
    const std::string name = identity ? *identity : suffix;
    if (!identity) spdlog::warn("mpris: {}: {}", suffix, identity.error().describe());
    if (!player_selected(config_.include, config_.exclude, suffix, identity ? *identity : std::string())) {
        spdlog::info("mpris: player '{}' ({}) left out by [mpris] include / exclude", name, suffix);
        return;
    }
    // .instance<N>: the base alone unless another player of that base is on
    // the bus (with a device or still being asked for its Identity).
    const std::string base = split_instance(suffix).base;
    bool base_taken = false;
    for (const auto& [other, op] : players_)
        if (other != key)
            for (const auto& [s, owner] : op.names) base_taken = base_taken || split_instance(s).base == base;
    for (const auto& [owner, waiting] : identifying_)
        for (const auto& s : waiting) base_taken = base_taken || split_instance(s).base == base;
    auto in_use = [&](const std::string& r) {
        for (const auto& [other, op] : players_)
            if (op.resource == r) return true;
        return false;
    };
    std::string resource = player_resource(suffix, base_taken);
    if (in_use(resource)) resource = player_resource(suffix, true);  // keeps -<N> when it has one
    if (in_use(resource)) {
        spdlog::warn("mpris: player '{}' ({}) would be {} too; left out", name, suffix, resource);
        return;
    }
    auto device = std::make_shared<bridge::Device>(resource, disco::Identity{"automation", "media-player", "", name});
    profiles::install_player_profile(host_.io(), *device, p.player, access_, playables_, {}, caps_);
    // The player's file cover art, served as transfer uids of the device.
    auto art = std::make_shared<CoverArt>(host_.io(), account_ + "/" + resource);
    p.player->set_cover_art(art);
    device->add_feature(profiles::ns_oob);
    profiles::TransferServices transfers;
    transfers.transfers = art;
    transfers.executor = host_.io().get_executor();
    transfers.device_permission = security::Permission::Events;  // art shows what events show
    profiles::install_transfer_profile(*device, std::move(transfers), access_);
    try {
        host_.add(device);
    } catch (const std::exception& e) {
        spdlog::error("mpris: cannot add player '{}': {}", name, e.what());
        return;
    }
    p.resource = resource;
    spdlog::info("mpris: player '{}' ({}) is {}", name, suffix, resource);
}

void MprisAdapter::name_released(const std::string& name, const std::string& owner) {
    auto suffix = mpris_suffix(name);
    if (!suffix) return;
    if (auto w = identifying_.find(owner); w != identifying_.end()) {
        std::erase(w->second, *suffix);
        if (w->second.empty()) identifying_.erase(w);
        return;
    }
    auto k = owner_keys_.find(owner);
    if (k == owner_keys_.end()) return;
    const std::string key = k->second;
    auto it = players_.find(key);
    if (it == players_.end()) return;
    Player& p = it->second;
    p.names.erase(*suffix);
    bool owner_left = true;
    for (const auto& [s, o] : p.names) owner_left = owner_left && o != owner;
    if (owner_left) {
        owner_keys_.erase(owner);
        signals_->detach(owner);
    }
    if (p.names.empty()) remove(key);
}

void MprisAdapter::remove(const std::string& key) {
    auto it = players_.find(key);
    if (it == players_.end()) return;
    Player p = std::move(it->second);
    players_.erase(it);
    for (const auto& [suffix, owner] : p.names) {
        owner_keys_.erase(owner);
        signals_->detach(owner);
    }
    if (p.player) p.player->gone();
    if (!p.resource.empty()) {
        spdlog::info("mpris: {} left the bus", p.resource);
        host_.remove(p.resource);
    }
}

void MprisAdapter::disconnected() {
    spdlog::error("mpris: the D-Bus bus went away; its players are removed until it is back");
    reported_unreachable_ = true;
    std::vector<std::string> keys;
    for (const auto& [key, p] : players_) keys.push_back(key);
    for (const auto& key : keys) remove(key);
    identifying_.clear();
    owner_keys_.clear();
    // Not from inside the connection's own dispatch: the proxies and the
    // connection go in a handler of their own, then the adapter connects again.
    boost::asio::post(host_.io(), [this, alive = alive_] {
        if (!*alive) return;
        daemon_.reset();  // proxies before the connection
        signals_.reset();
        bus_.reset();
        if (!stopped_) connect_later();
    });
}

std::unique_ptr<bridge::Adapter> MprisAdapterKind::create(const bridge::AdapterContext& context) {
    return std::make_unique<MprisAdapter>(context, section_.config());
}

}  // namespace xpmn::mpris
