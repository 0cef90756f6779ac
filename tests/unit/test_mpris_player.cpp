// MprisPlayer against MPRIS services made in the test (sdbus-c++ objects on
// a second connection, dispatched by a second SdbusIntegration on the same
// io_context: no threads) on a private dbus-daemon: the calls a player gets,
// properties, signals → the listener, a player that never answers →
// remote-server-timeout, wrong types → a clear error, a player gone →
// service-unavailable.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>

#include "adapters/mpris/mpris_player.hpp"
#include "adapters/mpris/mpris_signals.hpp"
#include "bridge/loop/sdbus_integration.hpp"
#include "tests/unit/dbus_test_daemon.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace xpmn;
using xpmn::loop::SdbusIntegration;
using xpmn::mpris::MprisPlayer;

namespace {

constexpr const char* P = "org.mpris.MediaPlayer2.Player";

// A well-behaved fake player (or, with wrong_types, one that sends nonsense).
struct FakePlayer {
    FakePlayer(asio::io_context& io, const std::string& address, bool wrong_types = false)
        : service(io, sdbus::createSessionBusConnectionWithAddress(address)) {
        object = sdbus::createObject(service.connection(), "/org/mpris/MediaPlayer2");
        object->registerMethod("Play").onInterface(P).implementedAs([this] { calls.push_back("Play"); });
        object->registerMethod("Pause").onInterface(P).implementedAs([this] { calls.push_back("Pause"); });
        object->registerMethod("Next").onInterface(P).implementedAs([this] { calls.push_back("Next"); });
        object->registerMethod("OpenUri").onInterface(P).implementedAs(
            [this](const std::string& uri) { calls.push_back("OpenUri " + uri); });
        object->registerMethod("Seek").onInterface(P).implementedAs(
            [this](std::int64_t us) { calls.push_back("Seek " + std::to_string(us)); });
        object->registerMethod("SetPosition").onInterface(P).implementedAs(
            [this](const sdbus::ObjectPath& track, std::int64_t us) {
                calls.push_back("SetPosition " + std::string(track) + " " + std::to_string(us));
            });
        if (wrong_types)
            object->registerProperty("PlaybackStatus").onInterface(P).withGetter([] { return std::int32_t{3}; });
        else
            object->registerProperty("PlaybackStatus").onInterface(P).withGetter([this] { return state; });
        object->registerProperty("CanSeek").onInterface(P).withGetter([] { return true; });
        object->registerProperty("Position").onInterface(P).withGetter([] { return std::int64_t{12'500'000}; });
        object->registerProperty("Metadata").onInterface(P).withGetter([this] {
            std::map<std::string, sdbus::Variant> md;
            md["mpris:trackid"] = sdbus::Variant(sdbus::ObjectPath("/fake/track/7"));
            md["xesam:title"] = sdbus::Variant(title);
            md["mpris:length"] = sdbus::Variant(std::int64_t{180'000'000});
            return md;
        });
        object->registerProperty("Volume").onInterface(P).withGetter([this] { return volume; }).withSetter(
            [this](const double& v) { volume = v; });
        object->registerProperty("Identity").onInterface("org.mpris.MediaPlayer2").withGetter([this] {
            return identity;
        });
        object->registerSignal("Seeked").onInterface(P).withParameters<std::int64_t>();
        object->finishRegistration();
        service.issued();
    }
    std::string unique_name() const { return service.connection().getUniqueName(); }

    SdbusIntegration service;
    std::unique_ptr<sdbus::IObject> object;
    std::vector<std::string> calls;
    std::string state = "Paused";
    double volume = 0.5;
    std::string title = "Fake Song";
    std::string identity = "Fake Player";
};

class MprisPlayerTest : public ::testing::Test {
protected:
    xpmn::test::DbusTestDaemon bus;
    asio::io_context io;
    SdbusIntegration client{io, SdbusIntegration::connect(bus.address())};

    template <class Pred>
    bool run_until(Pred done, std::chrono::milliseconds guard = 5s) {
        return xpmn::test::run_until(io, done, guard);
    }
    // Runs one void call to its answer.
    Result<void> wait(std::function<void(profiles::MediaPlayer::Done)> start) {
        std::optional<Result<void>> out;
        start([&](Result<void> r) { out.emplace(std::move(r)); });
        EXPECT_TRUE(run_until([&] { return out.has_value(); }));
        return out ? *out : Result<void>(Error{"test", "no answer"});
    }
};

TEST_F(MprisPlayerTest, CommandsReachThePlayer) {
    FakePlayer fake(io, bus.address());
    auto player = std::make_shared<MprisPlayer>(client, fake.unique_name());
    ASSERT_TRUE(wait([&](auto d) { player->open({{"http://nas/a.wav", {}}}, d); }));
    ASSERT_TRUE(wait([&](auto d) { player->play(d); }));
    ASSERT_TRUE(wait([&](auto d) { player->pause(d); }));
    ASSERT_TRUE(wait([&](auto d) { player->seek_to(90.5, d); }));
    ASSERT_TRUE(wait([&](auto d) { player->seek_by(-10, d); }));
    ASSERT_TRUE(wait([&](auto d) { player->next(d); }));  // one-entry playlist: the player's own Next
    ASSERT_TRUE(wait([&](auto d) { player->set_volume(30, d); }));
    EXPECT_EQ(fake.calls, (std::vector<std::string>{"Play", "OpenUri http://nas/a.wav", "Play", "Pause",
                                                    "SetPosition /fake/track/7 90500000", "Seek -10000000", "Next"}));
    EXPECT_DOUBLE_EQ(fake.volume, 0.3);
    EXPECT_EQ(wait([&](auto d) { player->seek_by(1e300, d); }).error().condition, "bad-request");
    EXPECT_EQ(wait([&](auto d) { player->seek_to(std::nan(""), d); }).error().condition, "bad-request");
    auto mute = wait([&](auto d) { player->set_mute(true, d); });
    ASSERT_FALSE(mute);
    EXPECT_EQ(mute.error().condition, "feature-not-implemented");
}

TEST_F(MprisPlayerTest, BridgePlaylistForNextAndPrevious) {
    FakePlayer fake(io, bus.address());
    auto player = std::make_shared<MprisPlayer>(client, fake.unique_name());
    ASSERT_TRUE(wait([&](auto d) { player->open({{"http://n/1", {}}, {"http://n/2", {}}}, d); }));
    ASSERT_TRUE(wait([&](auto d) { player->next(d); }));
    auto past_end = wait([&](auto d) { player->next(d); });
    EXPECT_FALSE(past_end);
    ASSERT_TRUE(wait([&](auto d) { player->previous(d); }));
    EXPECT_EQ(fake.calls, (std::vector<std::string>{"Play", "OpenUri http://n/1", "Play", "OpenUri http://n/2",
                                                    "Play", "OpenUri http://n/1"}));
}

TEST_F(MprisPlayerTest, StatusAndControls) {
    FakePlayer fake(io, bus.address());
    auto player = std::make_shared<MprisPlayer>(client, fake.unique_name());
    std::optional<Result<profiles::PlayerStatus>> status;
    player->status([&](Result<profiles::PlayerStatus> s) { status.emplace(std::move(s)); });
    ASSERT_TRUE(run_until([&] { return status.has_value(); }));
    ASSERT_TRUE(*status) << status->error().describe();
    EXPECT_EQ((*status)->state, profiles::PlayState::Paused);
    EXPECT_DOUBLE_EQ(*(*status)->position, 12.5);
    EXPECT_DOUBLE_EQ(*(*status)->duration, 180);
    EXPECT_EQ((*status)->item->child_text("title"), "Fake Song");
    std::optional<Result<profiles::PlayerControls>> controls;
    player->controls([&](Result<profiles::PlayerControls> c) { controls.emplace(std::move(c)); });
    ASSERT_TRUE(run_until([&] { return controls.has_value(); }));
    ASSERT_TRUE(*controls);
    EXPECT_EQ((*controls)->volume, 50);
    EXPECT_FALSE((*controls)->mute);
}

TEST_F(MprisPlayerTest, SignalsReachTheListener) {
    FakePlayer fake(io, bus.address());
    auto player = std::make_shared<MprisPlayer>(client, fake.unique_name());
    mpris::MprisSignals signals(client, {});
    signals.attach(player->destination(), player);
    std::vector<profiles::PlayerChange> changes;
    player->watch([&](const profiles::PlayerChange& c) { changes.push_back(c); });
    fake.state = "Playing";
    fake.object->emitPropertiesChangedSignal(P, {"PlaybackStatus"});
    fake.object->emitSignal("Seeked").onInterface(P).withArguments(std::int64_t{5'000'000});
    fake.service.issued();
    ASSERT_TRUE(run_until([&] { return changes.size() == 2; }));
    EXPECT_TRUE(changes[0].status);
    EXPECT_TRUE(changes[1].seeked);
}

TEST_F(MprisPlayerTest, SilentPlayerTimesOut) {
    auto silent = sdbus::createSessionBusConnectionWithAddress(bus.address());  // never read
    auto player = std::make_shared<MprisPlayer>(client, silent->getUniqueName(), 300ms);
    const auto start = std::chrono::steady_clock::now();
    auto r = wait([&](auto d) { player->play(d); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().condition, "remote-server-timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(MprisPlayerTest, WrongTypesAreAClearError) {
    FakePlayer fake(io, bus.address(), /*wrong_types=*/true);
    auto player = std::make_shared<MprisPlayer>(client, fake.unique_name());
    std::optional<Result<profiles::PlayerStatus>> status;
    player->status([&](Result<profiles::PlayerStatus> s) { status.emplace(std::move(s)); });
    ASSERT_TRUE(run_until([&] { return status.has_value(); }));
    ASSERT_FALSE(*status);
    EXPECT_EQ(status->error().condition, "internal-server-error");
    EXPECT_NE(status->error().text.find("PlaybackStatus"), std::string::npos);
}

TEST_F(MprisPlayerTest, GonePlayerAnswersPendingAndLaterCalls) {
    auto silent = sdbus::createSessionBusConnectionWithAddress(bus.address());
    auto player = std::make_shared<MprisPlayer>(client, silent->getUniqueName(), 5s);
    std::optional<Result<void>> pending;
    player->play([&](Result<void> r) { pending.emplace(std::move(r)); });
    player->gone();
    ASSERT_TRUE(run_until([&] { return pending.has_value(); }, 1s));
    EXPECT_EQ(pending->error().condition, "service-unavailable");
    auto later = wait([&](auto d) { player->pause(d); });
    EXPECT_EQ(later.error().condition, "service-unavailable");
    // A name nobody owns: the bus says so.
    auto nobody = std::make_shared<MprisPlayer>(client, "org.mpris.MediaPlayer2.nobody");
    auto r = wait([&](auto d) { nobody->play(d); });
    EXPECT_EQ(r.error().condition, "service-unavailable");
}

}  // namespace

TEST_F(MprisPlayerTest, OversizedIdentityAndTitleAreCut) {
    FakePlayer fake(io, bus.address());
    fake.identity = std::string(10'000, 'i');
    fake.title = std::string(100'000, 't');
    auto player = std::make_shared<MprisPlayer>(client, fake.unique_name());
    std::optional<Result<std::string>> identity;
    player->identity([&](Result<std::string> r) { identity.emplace(std::move(r)); });
    ASSERT_TRUE(run_until([&] { return identity.has_value(); }));
    ASSERT_TRUE(*identity) << identity->error().describe();
    EXPECT_EQ(**identity, std::string(mpris::kMaxIdentityBytes, 'i'));
    std::optional<Result<profiles::PlayerStatus>> status;
    player->status([&](Result<profiles::PlayerStatus> r) { status.emplace(std::move(r)); });
    ASSERT_TRUE(run_until([&] { return status.has_value(); }));
    ASSERT_TRUE(*status) << status->error().describe();
    ASSERT_TRUE((*status)->item);
    EXPECT_EQ((*status)->item->child_text("title"), std::string(mpris::kMaxMetadataTextBytes, 't'));
}
