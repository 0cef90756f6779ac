// The MPRIS adapter: every media player on the configured bus
// (org.mpris.MediaPlayer2.* names, found by ListNames at start and by
// NameOwnerChanged afterwards) becomes a media-player device
// `BARE/mpris-<name>` (player_names.hpp: naming, .instance<N>, globs) named
// by the player's Identity. Names with the same unique owner are one player
// (VLC owns …vlc and …vlc.instance<pid>). When the player's last name goes,
// its device is removed (unavailable presence); it comes back under the same
// resource.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "adapters/mpris/mpris_config.hpp"
#include "bridge/adapter.hpp"
#include "bridge/loop/sdbus_integration.hpp"

namespace sdbus {
class IProxy;
}

namespace xpmn::mpris {

class MprisPlayer;
class MprisSignals;

class MprisAdapter : public bridge::Adapter {
public:
    MprisAdapter(const bridge::AdapterContext& context, MprisConfig config);
    ~MprisAdapter() override;
    void start() override;
    void stop() override;

private:
    struct Owner {
        std::set<std::string> suffixes;  // names after org.mpris.MediaPlayer2.
        std::shared_ptr<MprisPlayer> player;
        std::string resource;  // set once the device is on the host
        bool probed = false;   // Identity read (device added or player left out)
    };

    void list_names();
    void name_owned(const std::string& name, const std::string& owner);
    void name_released(const std::string& name, const std::string& owner);
    void probed(const std::string& owner, Result<std::string> identity);
    void remove(const std::string& owner);
    void disconnected();

    bridge::DeviceHost& host_;
    std::shared_ptr<const bridge::AccessPolicy> access_;
    MprisConfig config_;
    std::unique_ptr<loop::SdbusIntegration> bus_;
    std::unique_ptr<MprisSignals> signals_;
    std::unique_ptr<sdbus::IProxy> daemon_;  // org.freedesktop.DBus
    std::map<std::string, Owner> owners_;    // by unique name
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool stopped_ = false;
};

// The [mpris] section and the factory, for the daemon's adapter registry.
class MprisAdapterKind : public bridge::AdapterKind {
public:
    std::string name() const override { return section_.name(); }
    void read(config::TomlReader& reader, const toml::table* table) override { section_.read(reader, table); }
    std::unique_ptr<bridge::Adapter> create(const bridge::AdapterContext& context) override;

private:
    MprisSection section_;
};

}  // namespace xpmn::mpris
