// Parsing the MediaControl requests (wire profile §7.1, §7.2): what a
// <player/> IQ set asks for and which variables a <control/> IQ set
// changes. Malformed → bad-request with a text; an element the profile does
// not know → service-unavailable (§8).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::profiles {

inline constexpr std::size_t kMaxPlaylist = 100;
inline constexpr std::size_t kMaxUriLength = 4096;

struct PlayerCommand {
    enum class Kind { Open, Play, Pause, Stop, Seek, Next, Previous };
    Kind kind = Kind::Play;
    std::vector<std::string> uris;  // open: 1 to kMaxPlaylist
    std::optional<double> position;  // seek: absolute seconds (≥ 0)
    std::optional<double> offset;    // seek: relative seconds
};

// `player` is the <player xmlns='urn:xmpp:tmp:media:player:0'/> of an IQ set.
Result<PlayerCommand> parse_player_command(const xml::Element& player);

// One variable of §7.2 and its new value, checked.
struct ControlChange {
    std::string name;  // "volume" or "mute"
    int volume = 0;    // 0–100
    bool mute = false;
};

// `control` is the <control/> of an IQ set: one or more <variable name='…'>value</variable>.
// Unknown name → item-not-found; bad value → bad-request.
Result<std::vector<ControlChange>> parse_control_set(const xml::Element& control);

}  // namespace xpmn::profiles
