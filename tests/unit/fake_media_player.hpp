// A MediaPlayer for unit tests: keeps a state the commands change, answers
// every call later on the io_context (never from inside the call, like a
// real adapter), records the calls, and fails the next call on request;
// controls reads can be held back (answered with what they read, later).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <string>
#include <vector>

#include "bridge/profiles/media_player.hpp"

namespace xpmn::fakes {

class FakeMediaPlayer : public profiles::MediaPlayer {
public:
    explicit FakeMediaPlayer(boost::asio::io_context& io) : io_(io) {}

    std::optional<profiles::LanAddresses> fetches_from() const override { return std::nullopt; }
    void open(std::vector<profiles::PlayableItem> playlist, Done done) override {
        opened = playlist;
        act("open", std::move(done), [this] { status_.state = profiles::PlayState::Playing; });
    }
    void play(Done done) override { act("play", std::move(done), [this] { status_.state = profiles::PlayState::Playing; }); }
    void pause(Done done) override { act("pause", std::move(done), [this] { status_.state = profiles::PlayState::Paused; }); }
    void stop(Done done) override { act("stop", std::move(done), [this] { status_.state = profiles::PlayState::Stopped; }); }
    void next(Done done) override { act("next", std::move(done), [] {}); }
    void previous(Done done) override { act("previous", std::move(done), [] {}); }
    void seek_to(double s, Done done) override {
        act("seek_to " + std::to_string(s), std::move(done), [this, s] { status_.position = s; });
    }
    void seek_by(double s, Done done) override {
        act("seek_by " + std::to_string(s), std::move(done), [this, s] { status_.position = status_.position.value_or(0) + s; });
    }
    void status(StatusDone done) override {
        ++status_reads;
        answer(std::move(done), status_);
    }
    void controls(ControlsDone done) override {
        if (hold_controls) {  // read now, answered when released
            held_controls.push_back([done = std::move(done), value = controls_] { done(value); });
            return;
        }
        answer(std::move(done), controls_);
    }
    // Answers the held controls reads with what they read (a slow player).
    void release_controls() {
        for (auto& reply : std::exchange(held_controls, {})) boost::asio::post(io_, std::move(reply));
    }
    void set_volume(int v, Done done) override {
        act("volume " + std::to_string(v), std::move(done), [this, v] { controls_.volume = v; });
    }
    void set_mute(bool on, Done done) override {
        act(std::string("mute ") + (on ? "on" : "off"), std::move(done), [this, on] { controls_.mute = on; });
    }
    void watch(ChangeListener l) override {
        listener = std::move(l);
        ++watch_calls;
    }

    // Tell the profile something changed, as an adapter does.
    void report(profiles::PlayerChange c) {
        if (listener) listener(c);
    }

    profiles::PlayerStatus status_;
    profiles::PlayerControls controls_{50, std::nullopt};
    std::vector<std::string> calls;
    std::vector<profiles::PlayableItem> opened;
    std::optional<Error> fail_next;
    ChangeListener listener;
    int watch_calls = 0, status_reads = 0;
    bool hold_controls = false;
    std::vector<std::function<void()>> held_controls;

private:
    template <class F>
    void act(std::string call, Done done, F apply) {
        calls.push_back(std::move(call));
        auto err = std::exchange(fail_next, std::nullopt);
        if (!err) apply();
        boost::asio::post(io_, [done = std::move(done), err] {
            if (err) return done(*err);
            done(Result<void>{});
        });
    }
    template <class Done, class T>
    void answer(Done done, T value) {
        auto err = std::exchange(fail_next, std::nullopt);
        boost::asio::post(io_, [done = std::move(done), err, value] {
            if (err) return done(*err);
            done(value);
        });
    }
    boost::asio::io_context& io_;
};

}  // namespace xpmn::fakes
