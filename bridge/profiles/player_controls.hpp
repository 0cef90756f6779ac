// Rendering control (wire profile §7.2) over a MediaPlayer: applies a set of
// variables in order, and emulates `mute` for players that have a volume but
// no mute of their own (MPRIS has none): mute on remembers the volume and
// sets 0, mute off restores it; setting a volume, or the volume leaving 0
// by other means, ends the emulated mute.
//
// A controls read may be overtaken by a set: read before "mute on", it shows
// the old volume after it. Only a read that began after the last change the
// bridge made (and after the player confirmed it) may end the emulated mute;
// an older one cannot, or the saved volume would be lost.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/player_requests.hpp"

namespace xpmn::profiles {

class MuteEmulation {
public:
    using ReadToken = std::uint64_t;
    // Taken just before the player's controls are read, and given to shown().
    ReadToken read_starts() const { return volume_changes_; }
    // The variables the wire shows for what the player reported to a read
    // that started at `read`.
    PlayerControls shown(const PlayerControls& player, ReadToken read);
    bool muted() const { return muted_; }

private:
    friend class ControlApply;
    bool muted_ = false;
    int saved_volume_ = 0;
    ReadToken volume_changes_ = 0;  // counts the bridge's volume changes, begun and confirmed
};

// Reads the player's controls, checks that the player has every variable of
// `changes` (item-not-found, nothing applied, when it lacks one; names and
// values were checked by parse_control_set), then applies them one after the
// other; `done` gets the first error or success, once.
void apply_controls(const std::shared_ptr<MediaPlayer>& player, const std::shared_ptr<MuteEmulation>& mute,
                    std::vector<ControlChange> changes, MediaPlayer::Done done);

}  // namespace xpmn::profiles
