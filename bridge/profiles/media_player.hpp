// The seam between the MediaControl profile (wire profile §7; the player
// profile owns the protocol) and a player device (the adapter owns the
// device): MPRIS players on D-Bus and UPnP MediaRenderers both implement
// MediaPlayer, the Rygel split. Every call is asynchronous and answers
// exactly once, never from inside the call; an adapter bounds each call by
// its own timeout (a hung player answers remote-server-timeout) so nothing
// waits for ever.
//
// Errors are the profile's stanza conditions with a text: bad-request (a
// value the player refuses), feature-not-implemented (the player cannot do
// it, e.g. CanSeek false), remote-server-timeout, service-unavailable (the
// player is gone), internal-server-error.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::profiles {

enum class PlayState { Stopped, Playing, Paused };

// A player on the LAN (a renderer): the address its requests come from, and
// this bridge's own address on the network it was found on.
struct LanAddresses {
    std::string player;
    std::string bridge;
};

// What §7.3's <status/> says. Positions and durations in seconds.
struct PlayerStatus {
    PlayState state = PlayState::Stopped;
    std::optional<double> position;  // where the player is (at the moment it was read)
    std::optional<double> duration;
    bool seekable = false;
    // The current item as <item xmlns='urn:xmpp:media:metadata:0'> (mappings/ make it); none when idle.
    std::optional<xml::Element> item;
    // Playback rate while playing (MPRIS Rate; 1.0 otherwise): the profile
    // extrapolates the position between reads from it.
    double rate = 1.0;
};

// §7.2's variables. Volume 0–100; nullopt: the player has none.
struct PlayerControls {
    std::optional<int> volume;
    std::optional<bool> mute;  // nullopt: the player has no mute of its own (the profile emulates it)
};

// One entry of an open request, resolved by the profile: a URL this player
// can fetch itself (the NAS's LAN URL, or a bridge-served HTTP URL) and,
// when known, the item's metadata (renderers get it as DIDL-Lite).
struct PlayableItem {
    std::string url;
    std::optional<xml::Element> metadata;  // <item xmlns='urn:xmpp:media:metadata:0'>
    // The URI as the controller gave it: what the wire may show for this item
    // (`url` may be a LAN address, which never goes on the wire).
    std::string source;
};

// What changed, reported by the adapter as it happens (D-Bus
// PropertiesChanged / Seeked, UPnP LastChange).
struct PlayerChange {
    bool status = false;    // state, item, duration, seekable or rate changed
    bool seeked = false;    // the position jumped (MPRIS Seeked): resync, do not extrapolate
    bool controls = false;  // volume or mute changed
};

class MediaPlayer {
public:
    using Done = std::function<void(Result<void>)>;
    using StatusDone = std::function<void(Result<PlayerStatus>)>;
    using ControlsDone = std::function<void(Result<PlayerControls>)>;
    using ChangeListener = std::function<void(const PlayerChange&)>;

    virtual ~MediaPlayer() = default;

    // Where the player fetches media from: nullopt = this host (a loopback
    // URL works); otherwise its LAN address (a renderer), which a served URL
    // must answer only, bound to the bridge's address facing it.
    virtual std::optional<LanAddresses> fetches_from() const = 0;

    // Replaces what the player plays with `playlist` (≥ 1 entries) and starts the first.
    virtual void open(std::vector<PlayableItem> playlist, Done done) = 0;
    virtual void play(Done done) = 0;
    virtual void pause(Done done) = 0;
    virtual void stop(Done done) = 0;
    virtual void next(Done done) = 0;
    virtual void previous(Done done) = 0;
    virtual void seek_to(double seconds, Done done) = 0;  // absolute
    virtual void seek_by(double offset, Done done) = 0;   // relative, may be negative

    virtual void status(StatusDone done) = 0;
    virtual void controls(ControlsDone done) = 0;
    virtual void set_volume(int volume, Done done) = 0;  // 0–100, checked by the profile
    // Only called when controls() reports a mute of the player's own.
    virtual void set_mute(bool on, Done done) = 0;

    // Someone watches (true) or nobody does any more (false): a renderer
    // polls its position only while watched. `listener` gets every change
    // while set; an empty listener stops reporting.
    virtual void watch(ChangeListener listener) = 0;
};

}  // namespace xpmn::profiles
