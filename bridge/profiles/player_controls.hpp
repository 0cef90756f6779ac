// Rendering control (wire profile §7.2) over a MediaPlayer: applies a set of
// variables in order, and emulates `mute` for players that have a volume but
// no mute of their own (MPRIS has none): mute on remembers the volume and
// sets 0, mute off restores it; setting a volume, or the volume leaving 0
// by other means, ends the emulated mute.
#pragma once

#include <memory>
#include <vector>

#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/player_requests.hpp"

namespace xpmn::profiles {

class MuteEmulation {
public:
    // The variables the wire shows for what the player reports.
    PlayerControls shown(const PlayerControls& player);
    bool muted() const { return muted_; }

private:
    friend class ControlApply;
    bool muted_ = false;
    int saved_volume_ = 0;
};

// Reads the player's controls, then applies `changes` one after the other;
// `done` gets the first error (item-not-found for a variable this player
// does not have) or success, once.
void apply_controls(const std::shared_ptr<MediaPlayer>& player, const std::shared_ptr<MuteEmulation>& mute,
                    std::vector<ControlChange> changes, MediaPlayer::Done done);

}  // namespace xpmn::profiles
