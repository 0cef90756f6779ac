#include "adapters/mpris/mpris_signals.hpp"

#include <spdlog/spdlog.h>

#include <sdbus-c++/sdbus-c++.h>

#include "adapters/mpris/mpris_player.hpp"

namespace xpmn::mpris {

MprisSignals::MprisSignals(loop::SdbusIntegration& bus, OwnerChanged owner_changed)
    : owner_changed_(std::move(owner_changed)) {
    auto& c = bus.connection();
    owners_ = c.addMatch(
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
        "member='NameOwnerChanged',arg0namespace='org.mpris.MediaPlayer2'",
        [this](sdbus::Message& m) {
            std::string name, old_owner, new_owner;
            try {
                m >> name >> old_owner >> new_owner;
            } catch (const std::exception&) {
                return;
            }
            if (owner_changed_) owner_changed_(name, old_owner, new_owner);
        });
    properties_ = c.addMatch(
        "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
        "path='/org/mpris/MediaPlayer2'",
        [this](sdbus::Message& m) {
            auto player = player_for(m.getSender());
            if (!player) return;
            std::string iface;
            PropertyMap changed;
            std::vector<std::string> invalidated;
            try {
                m >> iface >> changed >> invalidated;
            } catch (const std::exception& e) {
                spdlog::debug("mpris: PropertiesChanged of {} unreadable: {}", m.getSender(), e.what());
                return;
            }
            player->on_properties_changed(iface, changed, invalidated);
        });
    seeked_ = c.addMatch(
        "type='signal',interface='org.mpris.MediaPlayer2.Player',member='Seeked',path='/org/mpris/MediaPlayer2'",
        [this](sdbus::Message& m) {
            if (auto player = player_for(m.getSender())) player->on_seeked();
        });
    bus.issued();
}

void MprisSignals::attach(const std::string& sender, const std::shared_ptr<MprisPlayer>& player) {
    players_[sender] = player;
}

void MprisSignals::detach(const std::string& unique_name) { players_.erase(unique_name); }

std::shared_ptr<MprisPlayer> MprisSignals::player_for(const std::string& sender) const {
    auto it = players_.find(sender);
    return it == players_.end() ? nullptr : it->second.lock();
}

}  // namespace xpmn::mpris
