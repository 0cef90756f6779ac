// The bus-wide signal matches of the MPRIS adapter, made once (AddMatch is
// a synchronous call to the bus daemon, so not one per player at run time):
// NameOwnerChanged of org.mpris.MediaPlayer2.* names, and PropertiesChanged
// / Seeked on /org/mpris/MediaPlayer2, routed by sender (the unique name) to
// the attached player. Messages of unexpected types are dropped.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <sdbus-c++/IConnection.h>
#include <string>

#include "bridge/loop/sdbus_integration.hpp"

namespace xpmn::mpris {

class MprisPlayer;

class MprisSignals {
public:
    using OwnerChanged =
        std::function<void(const std::string& name, const std::string& old_owner, const std::string& new_owner)>;
    // Throws sdbus::Error when the matches cannot be added.
    MprisSignals(loop::SdbusIntegration& bus, OwnerChanged owner_changed);

    // Routes signals sent by `sender` (a unique name) to `player`. A player
    // may have several (VLC: one connection per bus name).
    void attach(const std::string& sender, const std::shared_ptr<MprisPlayer>& player);
    void detach(const std::string& unique_name);

private:
    std::shared_ptr<MprisPlayer> player_for(const std::string& sender) const;

    OwnerChanged owner_changed_;
    std::map<std::string, std::weak_ptr<MprisPlayer>> players_;
    sdbus::Slot owners_, properties_, seeked_;
};

}  // namespace xpmn::mpris
