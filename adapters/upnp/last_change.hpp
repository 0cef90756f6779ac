// AVTransport and RenderingControl report their state variables through one
// evented LastChange document (<Event><InstanceID val='0'>…); this reads the
// variables the renderer adapter cares about, with gupnp-av's
// GUPnPLastChangeParser.
#pragma once

#include <optional>
#include <string>

namespace xpmn::upnp {

struct LastChange {
    std::optional<std::string> transport_state;  // PLAYING, PAUSED_PLAYBACK, STOPPED, TRANSITIONING, …
    std::optional<std::string> current_track_uri;
    std::optional<std::string> current_track_duration;
    std::optional<std::string> volume;  // RenderingControl, Master channel (the first one given)
    std::optional<std::string> mute;

    bool status() const { return transport_state || current_track_uri || current_track_duration; }
    bool controls() const { return volume || mute; }
};

// nullopt: not a LastChange document of instance 0.
std::optional<LastChange> parse_last_change(const std::string& xml);

}  // namespace xpmn::upnp
