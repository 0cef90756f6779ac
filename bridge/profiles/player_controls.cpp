#include "bridge/profiles/player_controls.hpp"

namespace xpmn::profiles {

PlayerControls MuteEmulation::shown(const PlayerControls& player, ReadToken read) {
    PlayerControls out = player;
    if (player.mute || !player.volume) return out;  // its own mute, or nothing to emulate it with
    // Turned up elsewhere: no longer muted (unless the read predates our own change).
    if (muted_ && *player.volume != 0 && read == volume_changes_) muted_ = false;
    out.mute = muted_;
    return out;
}

// One set request in progress: the player's controls as they stand, and the
// changes still to apply.
class ControlApply : public std::enable_shared_from_this<ControlApply> {
public:
    ControlApply(std::weak_ptr<MediaPlayer> player, std::shared_ptr<MuteEmulation> mute,
                 std::vector<ControlChange> changes, MediaPlayer::Done done)
        : player_(std::move(player)), mute_(std::move(mute)), changes_(std::move(changes)), done_(std::move(done)) {}

    void start() {
        auto p = player_.lock();
        if (!p) return done_(Error{"service-unavailable", "the player is gone"});
        p->controls([self = shared_from_this()](Result<PlayerControls> c) {
            if (!c) return self->done_(c.error());
            self->current_ = *c;
            // All or nothing: a variable this player lacks refuses the whole set before any is applied.
            if (auto missing = self->missing_variable()) return self->done_(*missing);
            self->step();
        });
    }

private:
    std::optional<Error> missing_variable() const {
        for (const auto& c : changes_)
            if (!current_.volume && !(c.name == "mute" && current_.mute))
                return Error{"item-not-found", "this player has no " + c.name + ": nothing was changed"};
        return std::nullopt;
    }

    void step() {
        if (next_ == changes_.size()) return done_(Result<void>{});
        auto p = player_.lock();
        if (!p) return done_(Error{"service-unavailable", "the player is gone"});
        const ControlChange& c = changes_[next_++];
        auto then = [self = shared_from_this()](Result<void> r) {
            if (!r) return self->done_(r.error());
            self->step();
        };
        // A volume change the bridge makes: reads begun before it is confirmed are stale.
        auto volume_then = [self = shared_from_this(), then](Result<void> r) {
            ++self->mute_->volume_changes_;
            then(std::move(r));
        };
        if (c.name == "volume") {
            mute_->muted_ = false;
            ++mute_->volume_changes_;
            current_.volume = c.volume;
            return p->set_volume(c.volume, volume_then);
        }
        if (current_.mute) return p->set_mute(c.mute, then);
        // Emulated: only a change of state touches the volume.
        if (c.mute == mute_->muted_) return step();
        mute_->muted_ = c.mute;
        ++mute_->volume_changes_;
        int to = 0;
        if (c.mute) mute_->saved_volume_ = *current_.volume;
        else to = mute_->saved_volume_;
        current_.volume = to;
        p->set_volume(to, volume_then);
    }

    std::weak_ptr<MediaPlayer> player_;
    std::shared_ptr<MuteEmulation> mute_;
    std::vector<ControlChange> changes_;
    std::size_t next_ = 0;
    PlayerControls current_;
    MediaPlayer::Done done_;
};

void apply_controls(const std::shared_ptr<MediaPlayer>& player, const std::shared_ptr<MuteEmulation>& mute,
                    std::vector<ControlChange> changes, MediaPlayer::Done done) {
    std::make_shared<ControlApply>(player, mute, std::move(changes), std::move(done))->start();
}

}  // namespace xpmn::profiles
