// One MPRIS player as a profiles::MediaPlayer: org.mpris.MediaPlayer2.Player
// over the bridge's one sd-bus connection (SdbusIntegration), asynchronous
// calls only, each bounded by the [mpris] call timeout (→
// remote-server-timeout). The player's signals (PropertiesChanged, Seeked)
// are matched once for the whole bus by MprisSignals, which hands this
// player's to on_properties_changed() / on_seeked().
//
// open() plays the first URL with OpenUri (Play first when paused) and keeps the list: next /
// previous walk that bridge-side playlist while it has more than one entry,
// and are the player's own Next / Previous otherwise. MPRIS has no mute:
// controls().mute is nullopt (the profile emulates it) and set_mute answers
// feature-not-implemented.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/mpris/mpris_values.hpp"
#include "bridge/loop/sdbus_integration.hpp"
#include "bridge/profiles/media_player.hpp"

namespace sdbus {
class IProxy;
class Error;
}  // namespace sdbus

namespace xpmn::mpris {

class CoverArt;

// A D-Bus error from a call to a player as the profile's Error.
Error dbus_error(const sdbus::Error& error);

class MprisPlayer : public profiles::MediaPlayer, public std::enable_shared_from_this<MprisPlayer> {
public:
    // `destination`: the player's unique bus name (or a well-known name).
    MprisPlayer(loop::SdbusIntegration& bus, std::string destination,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~MprisPlayer() override;

    const std::string& destination() const { return destination_; }

    // The player left the bus: pending calls answer service-unavailable, and so do later ones.
    void gone();

    // File cover art the player announces in its status becomes a transfer uid here.
    void set_cover_art(std::shared_ptr<CoverArt> art) { art_ = std::move(art); }

    // The Identity property of org.mpris.MediaPlayer2 (the device's name), cut to kMaxIdentityBytes.
    void identity(std::function<void(Result<std::string>)> done);

    // Signals of this player (routed by MprisSignals).
    void on_properties_changed(const std::string& interface, const PropertyMap& changed,
                               const std::vector<std::string>& invalidated);
    void on_seeked();

    std::optional<profiles::LanAddresses> fetches_from() const override { return std::nullopt; }
    void open(std::vector<profiles::PlayableItem> playlist, Done done) override;
    void play(Done done) override;
    void pause(Done done) override;
    void stop(Done done) override;
    void next(Done done) override;
    void previous(Done done) override;
    void seek_to(double seconds, Done done) override;
    void seek_by(double offset, Done done) override;
    void status(StatusDone done) override;
    void controls(ControlsDone done) override;
    void set_volume(int volume, Done done) override;
    void set_mute(bool on, Done done) override;
    void watch(ChangeListener listener) override;

private:
    using PropsDone = std::function<void(Result<PropertyMap>)>;

    // <iface>.<method>(args…) → done.
    template <class... Args>
    void call(const char* iface, const std::string& method, Done done, const Args&... args);
    // Properties.GetAll(iface) → done.
    void get_all(const char* iface, PropsDone done);
    void open_index(std::size_t index, Done done);
    // Reads the properties; with CanSeek true, `then` gets the current
    // metadata (its track id); otherwise `done` gets the error.
    using SeekStep = std::function<void(MprisPlayer&, const mappings::MprisMetadata&, Done)>;
    void when_seekable(Done done, SeekStep then);
    // Answers `done` from the loop, never from inside the caller.
    void post(Done done, Result<void> result);
    template <class T, class F>
    void post_result(F done, Result<T> result);

    // Pending answers by call id: a call that the player never answers is
    // answered by sd-bus's timeout; gone() answers the rest at once.
    std::uint64_t track(std::function<void(const Error*)> fail);
    void untrack(std::uint64_t id);

    loop::SdbusIntegration& bus_;
    // Answers are posted here: the io_context outlives the bus, which may go before the player.
    boost::asio::io_context& io_;
    std::string destination_;
    std::chrono::milliseconds timeout_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    bool gone_ = false;
    std::uint64_t next_id_ = 0;
    std::map<std::uint64_t, std::function<void(const Error*)>> pending_;
    ChangeListener listener_;
    std::shared_ptr<CoverArt> art_;
    std::vector<profiles::PlayableItem> playlist_;
    std::size_t index_ = 0;
    // OpenUri succeeded on a stopped player, which has not signalled a
    // PlaybackStatus since. MPRIS says OpenUri from stopped starts playback;
    // mpv-mpris 0.7 (Debian 12) still says Stopped until the next pause
    // change (it ends such a file with a signalled Stopped), so a Stopped
    // read meanwhile is taken as Playing.
    bool started_from_stop_ = false;
};

}  // namespace xpmn::mpris
