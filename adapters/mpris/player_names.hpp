// How MPRIS bus names become device resources (wire profile §2:
// BARE/mpris-<name>, <name> = the bus-name suffix after
// org.mpris.MediaPlayer2., lowercased, [a-z0-9-] only), and which players
// the [mpris] globs select. Pure functions, no D-Bus.
//
// The .instance<N> rule (docs/protocol.md): a player may own
// `org.mpris.MediaPlayer2.<base>.instance<N>` (N = its pid, usually), next to
// or instead of `…<base>`. Names with the same unique owner are one player;
// it is named after its plain name when it has one; otherwise after
// `<base>` when no other player of that base is on the bus when it appears,
// else `<base>-<N>`. The resource is fixed when the player appears and kept
// while it stays.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace xpmn::mpris {

inline constexpr const char* kMprisPrefix = "org.mpris.MediaPlayer2.";

// The part after org.mpris.MediaPlayer2.; nullopt when `bus_name` is not an
// MPRIS player name (or is the prefix alone).
std::optional<std::string> mpris_suffix(const std::string& bus_name);

struct SplitSuffix {
    std::string base;      // "vlc"
    std::string instance;  // "1234", empty without .instance<N>
};
SplitSuffix split_instance(const std::string& suffix);

// Lowercase, every run of characters outside [a-z0-9-] becomes one '-',
// no leading / trailing '-'; "player" if nothing is left.
std::string resource_token(const std::string& text);

// The suffix a player is named after among the MPRIS names it owns: the
// first without .instance<N>, else the first (in sorted order).
std::string preferred_suffix(std::vector<std::string> suffixes);

// The resource ("mpris-vlc", "mpris-vlc-1234") for a player named by
// `suffix`; `base_taken`: another player of the same base is on the bus.
std::string player_resource(const std::string& suffix, bool base_taken);

// [mpris] include / exclude (fnmatch globs) against the suffix and the
// Identity (case-insensitive); an empty include selects every player.
bool player_selected(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                     const std::string& suffix, const std::string& identity);

}  // namespace xpmn::mpris
