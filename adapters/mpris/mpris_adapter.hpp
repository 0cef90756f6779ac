// The MPRIS adapter: every media player on the configured bus
// (org.mpris.MediaPlayer2.* names, found by ListNames at start and by
// NameOwnerChanged afterwards) becomes a media-player device
// `BARE/mpris-<name>` (player_names.hpp: naming, .instance<N>, globs) named
// by the player's Identity. Names whose owners are connections of one process
// (GetConnectionUnixProcessID) are one player: VLC owns …vlc and
// …vlc.instance<pid>, each on a connection of its own. When the player's last name goes,
// its device is removed (unavailable presence); it comes back under the same
// resource.
//
// When the bus goes away (its daemon restarted) every player is removed and
// the adapter connects again, 1 s later and then every 2, 4 … 30 s until it
// can; the players on the new bus come back under their resources. A bus
// unreachable at start is retried the same way (logged once). Only the
// session, the system and `unix:path=` buses are retried (see retried()).
//
// At most kMaxPlayers player processes are followed at a time (with a device
// or still being identified): a further one is ignored with a warning (its
// names are not followed; it is not picked up when another player leaves,
// only after the adapter restarts), so nothing on the bus can make the
// bridge grow without bound.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
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
    static constexpr std::size_t kMaxPlayers = 32;
    static constexpr std::chrono::seconds kFirstRetry{1};
    static constexpr std::chrono::seconds kMaxRetry{30};

    MprisAdapter(const bridge::AdapterContext& context, MprisConfig config);
    ~MprisAdapter() override;
    void start() override;
    void stop() override;

private:
    // One player process: its MPRIS names and the connections owning them.
    struct Player {
        std::map<std::string, std::string> names;  // suffix (after org.mpris.MediaPlayer2.) → unique owner
        std::shared_ptr<MprisPlayer> player;
        std::string resource;  // set once the device is on the host
    };

    // The connection, the NameOwnerChanged match and the bus daemon's proxy;
    // false when the bus cannot be reached.
    bool connect();
    // Tries connect() again later (backoff), if this kind of bus is retried.
    void connect_later();
    bool retried() const;
    void list_names();
    void name_owned(const std::string& name, const std::string& owner);
    // The owner's process is known: `key` groups its connections.
    void owner_identified(const std::string& owner, const std::string& key);
    void add_name(const std::string& key, const std::string& suffix, const std::string& owner);
    void name_released(const std::string& name, const std::string& owner);
    void probed(const std::string& key, Result<std::string> identity);
    void remove(const std::string& key);
    void disconnected();

    bridge::DeviceHost& host_;
    std::shared_ptr<const bridge::AccessPolicy> access_;
    std::shared_ptr<profiles::PlayableResolver> playables_;
    std::shared_ptr<client::CapsCache> caps_;  // controllers' caps, shared by the bridge's players
    std::string account_;  // bare JID: devices' full JIDs (cover art URIs)
    MprisConfig config_;
    std::unique_ptr<loop::SdbusIntegration> bus_;
    std::unique_ptr<MprisSignals> signals_;
    std::unique_ptr<sdbus::IProxy> daemon_;  // org.freedesktop.DBus
    // Players by process ("pid:N"; the unique name when the bus cannot say):
    // VLC owns …vlc and …vlc.instance<pid> on two connections of one process.
    std::map<std::string, Player> players_;
    std::map<std::string, std::string> owner_keys_;                // unique name → players_ key
    std::map<std::string, std::vector<std::string>> identifying_;  // unique name → suffixes awaiting its pid
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool stopped_ = false;
    boost::asio::steady_timer retry_;
    std::chrono::seconds retry_after_ = kFirstRetry;
    bool reported_unreachable_ = false;  // logged once per outage
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
