#include "adapters/mpris/mpris_adapter.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <sdbus-c++/sdbus-c++.h>

#include "adapters/mpris/mpris_player.hpp"
#include "adapters/mpris/mpris_signals.hpp"
#include "adapters/mpris/player_names.hpp"
#include "bridge/device.hpp"

namespace xpmn::mpris {

MprisAdapter::MprisAdapter(const bridge::AdapterContext& context, MprisConfig config)
    : host_(context.host), access_(context.access), config_(std::move(config)) {}

MprisAdapter::~MprisAdapter() {
    *alive_ = false;
    for (auto& [owner, o] : owners_)
        if (o.player) o.player->gone();
    owners_.clear();
    daemon_.reset();  // proxies before the connection
    signals_.reset();
    bus_.reset();
}

void MprisAdapter::start() {
    if (!config_.enabled) return;
    try {
        bus_ = std::make_unique<loop::SdbusIntegration>(host_.io(), loop::SdbusIntegration::connect(config_.bus));
        signals_ = std::make_unique<MprisSignals>(
            *bus_, [this](const std::string& name, const std::string& old_owner, const std::string& new_owner) {
                if (!old_owner.empty()) name_released(name, old_owner);
                if (!new_owner.empty()) name_owned(name, new_owner);
            });
        daemon_ = sdbus::createProxy(bus_->connection(), "org.freedesktop.DBus", "/org/freedesktop/DBus");
    } catch (const std::exception& e) {
        // A bridge without a D-Bus session (a headless NAS box) still serves the rest.
        spdlog::error("mpris: cannot use the D-Bus bus '{}': {}; no players", config_.bus, e.what());
        signals_.reset();
        bus_.reset();
        return;
    }
    bus_->on_disconnected([this, alive = alive_](const std::string&) {
        if (*alive) disconnected();
    });
    list_names();
}

void MprisAdapter::stop() {
    stopped_ = true;
    auto owners = std::move(owners_);
    owners_.clear();
    for (auto& [owner, o] : owners) {
        if (o.player) o.player->gone();
        if (!o.resource.empty()) host_.remove(o.resource);
    }
}

void MprisAdapter::list_names() {
    const auto timeout = std::chrono::milliseconds(config_.call_timeout_ms);
    daemon_->callMethodAsync("ListNames")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(timeout)
        .uponReplyInvoke([this, alive = alive_, timeout](const sdbus::Error* err, std::vector<std::string> names) {
            if (!*alive || stopped_) return;
            if (err) return spdlog::error("mpris: ListNames failed: {}", err->getMessage());
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
        });
    bus_->issued();
}

void MprisAdapter::name_owned(const std::string& name, const std::string& owner) {
    auto suffix = mpris_suffix(name);
    if (!suffix || stopped_) return;
    Owner& o = owners_[owner];
    o.suffixes.insert(*suffix);
    if (o.player) return;  // a second name of a known player
    try {
        o.player = std::make_shared<MprisPlayer>(*bus_, owner, std::chrono::milliseconds(config_.call_timeout_ms));
    } catch (const std::exception& e) {
        spdlog::error("mpris: cannot talk to {} ({}): {}", name, owner, e.what());
        owners_.erase(owner);
        return;
    }
    signals_->attach(o.player);
    o.player->identity([this, alive = alive_, owner](Result<std::string> identity) {
        if (*alive) probed(owner, std::move(identity));
    });
}

void MprisAdapter::probed(const std::string& owner, Result<std::string> identity) {
    auto it = owners_.find(owner);
    if (it == owners_.end() || stopped_) return;
    Owner& o = it->second;
    o.probed = true;
    const std::string suffix = preferred_suffix({o.suffixes.begin(), o.suffixes.end()});
    const std::string name = identity ? *identity : suffix;
    if (!identity) spdlog::warn("mpris: {}: {}", suffix, identity.error().describe());
    if (!player_selected(config_.include, config_.exclude, suffix, identity ? *identity : std::string())) {
        spdlog::info("mpris: player '{}' ({}) left out by [mpris] include / exclude", name, suffix);
        return;
    }
    // .instance<N>: the base alone unless another player of that base is here.
    const std::string base = split_instance(suffix).base;
    bool base_taken = false;
    for (const auto& [other, oo] : owners_)
        if (other != owner && !oo.resource.empty())
            for (const auto& s : oo.suffixes) base_taken = base_taken || split_instance(s).base == base;
    const std::string resource = player_resource(suffix, base_taken);
    for (const auto& [other, oo] : owners_)
        if (oo.resource == resource) {
            spdlog::warn("mpris: player '{}' ({}) would be {} too; left out", name, suffix, resource);
            return;
        }
    auto device = std::make_shared<bridge::Device>(resource, disco::Identity{"automation", "media-player", "", name});
    // MERGE(player): the one call site of the player profile (branch `player`):
    // profiles::install_player_profile(host_.io(), *device, o.player, access_, resolver);
    try {
        host_.add(device);
    } catch (const std::exception& e) {
        spdlog::error("mpris: cannot add player '{}': {}", name, e.what());
        return;
    }
    o.resource = resource;
    spdlog::info("mpris: player '{}' ({}) is {}", name, suffix, resource);
}

void MprisAdapter::name_released(const std::string& name, const std::string& owner) {
    auto suffix = mpris_suffix(name);
    auto it = owners_.find(owner);
    if (!suffix || it == owners_.end()) return;
    it->second.suffixes.erase(*suffix);
    if (it->second.suffixes.empty()) remove(owner);
}

void MprisAdapter::remove(const std::string& owner) {
    auto it = owners_.find(owner);
    if (it == owners_.end()) return;
    Owner o = std::move(it->second);
    owners_.erase(it);
    signals_->detach(owner);
    if (o.player) o.player->gone();
    if (!o.resource.empty()) {
        spdlog::info("mpris: {} left the bus", o.resource);
        host_.remove(o.resource);
    }
}

void MprisAdapter::disconnected() {
    spdlog::error("mpris: the D-Bus bus went away; its players are removed");
    std::vector<std::string> owners;
    for (const auto& [owner, o] : owners_) owners.push_back(owner);
    for (const auto& owner : owners) remove(owner);
}

std::unique_ptr<bridge::Adapter> MprisAdapterKind::create(const bridge::AdapterContext& context) {
    return std::make_unique<MprisAdapter>(context, section_.config());
}

}  // namespace xpmn::mpris
