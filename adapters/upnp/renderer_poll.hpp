// What one position poll of a renderer (GetTransportInfo, then
// GetPositionInfo: upnp_renderer_watch.cpp) tells the profile. The poll
// exists because a LastChange can be lost: gupnp drops a NOTIFY whose SEQ it
// did not expect and resubscribes, and with gmediarender (libupnp) the new
// subscription's initial event can race its SUBSCRIBE answer. So a change of
// the transport state or of the track is reported from the poll too, and a
// position that jumped (a seek from elsewhere) is reported as a seek.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "bridge/profiles/media_player.hpp"

namespace xpmn::upnp {

struct RendererPoll {
    std::optional<double> position;  // RelTime; nullopt when the renderer does not say
    std::string track_uri;           // TrackURI
    std::string state;               // CurrentTransportState
    std::chrono::steady_clock::time_point asked;  // when GetPositionInfo was sent
};

// A jump larger than this (seconds) from where the renderer was (paused) and
// from where it would be by now (playing) is a seek.
inline constexpr double kSeekJumpSeconds = 1.5;

// What changed since `last` (nullopt: the first poll of a watch, whose state
// and track count as changed); `last` becomes `now`.
profiles::PlayerChange poll_change(std::optional<RendererPoll>& last, const RendererPoll& now);

}  // namespace xpmn::upnp
