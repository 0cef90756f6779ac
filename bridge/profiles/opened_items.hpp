// A MediaPlayer wrapper that remembers what the profile opened: a player
// knows the items by their URLs only (mpv names a NAS file by its file name),
// while the open request knew their metadata (the media server's title,
// artist, duration). When the player's current item has the URL of an
// opened one, status() reports the opened item's metadata instead, so a
// controller sees the same item in `open`'s answer and in the status.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "bridge/profiles/media_player.hpp"

namespace xpmn::profiles {

class OpenedItems : public MediaPlayer {
public:
    // Remembers the items of the last open() only.
    static constexpr std::size_t kMaxRemembered = 256;

    explicit OpenedItems(std::shared_ptr<MediaPlayer> player) : player_(std::move(player)) {}

    std::optional<LanAddresses> fetches_from() const override { return player_->fetches_from(); }
    void open(std::vector<PlayableItem> playlist, Done done) override;
    void play(Done done) override { player_->play(std::move(done)); }
    void pause(Done done) override { player_->pause(std::move(done)); }
    void stop(Done done) override { player_->stop(std::move(done)); }
    void next(Done done) override { player_->next(std::move(done)); }
    void previous(Done done) override { player_->previous(std::move(done)); }
    void seek_to(double seconds, Done done) override { player_->seek_to(seconds, std::move(done)); }
    void seek_by(double offset, Done done) override { player_->seek_by(offset, std::move(done)); }
    void status(StatusDone done) override;
    void controls(ControlsDone done) override { player_->controls(std::move(done)); }
    void set_volume(int volume, Done done) override { player_->set_volume(volume, std::move(done)); }
    void set_mute(bool on, Done done) override { player_->set_mute(on, std::move(done)); }
    void watch(ChangeListener listener) override { player_->watch(std::move(listener)); }

private:
    std::shared_ptr<MediaPlayer> player_;
    std::shared_ptr<std::map<std::string, xml::Element>> known_ =
        std::make_shared<std::map<std::string, xml::Element>>();  // URL → the opened item's metadata
};

}  // namespace xpmn::profiles
