// The MediaControl profile (wire profile §7, §8, §4.2) over a fake player:
// each command reaches the player and gets one answer, malformed requests
// and unknown elements get the profile's errors with a text, friends need
// their grants, mute is emulated for players without one, and events arrive
// on the subscriber's channel within 250 ms, coalesced, every period while
// playing, and stop when the subscription or its channel ends.
#include <gtest/gtest.h>

#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bridge/device.hpp"
#include "bridge/profiles/player_profile.hpp"
#include "bridge/profiles/player_xml.hpp"
#include "fake_channel.hpp"
#include "fake_media_player.hpp"
#include "security_test_stores.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using namespace std::chrono_literals;
using fakes::FakeChannel;
using fakes::FakeMediaPlayer;
using profiles::PlayState;
using security::Permission;

namespace {

// The open deadline of these tests (the daemon's is kOpenDeadline).
constexpr auto kTestOpenDeadline = 200ms;

// Answers http URIs with themselves, `xmpp:meta` with metadata, never answers
// `xmpp:hang` (a NAS that does not), answers `xmpp:slow` after 10 ms, and
// anything else with the error its text names.
struct FakeResolver : profiles::PlayableResolver {
    explicit FakeResolver(boost::asio::io_context& io) : io(io) {}
    void resolve(const profiles::PlayableRequest& r, profiles::PlayableCallback done) override {
        requests.push_back(r);
        if (r.uri == "xmpp:hang") return hanging.push_back(std::move(done));
        if (r.uri == "xmpp:slow") {
            auto timer = std::make_shared<boost::asio::steady_timer>(io, 10ms);
            return timer->async_wait([timer, uri = r.uri, done = std::move(done)](auto) {
                done(profiles::PlayableItem{"http://nas/slow", std::nullopt});
            });
        }
        if (r.uri.rfind("http://", 0) == 0) return done(profiles::PlayableItem{r.uri + "#lan", std::nullopt});
        if (r.uri == "xmpp:meta") {
            xml::Element item("item", ns::media_metadata);
            item.add_text_child("title", "Known", ns::media_metadata);
            return done(profiles::PlayableItem{"http://nas/known", item});
        }
        done(Error{"forbidden", "refused: " + r.uri});
    }
    void now_playing(const std::string& player, const std::vector<std::string>& urls) override {
        playing[player] = urls;
    }
    void unused(const std::vector<std::string>& urls) override { dropped.insert(dropped.end(), urls.begin(), urls.end()); }
    boost::asio::io_context& io;
    std::vector<profiles::PlayableRequest> requests;
    std::vector<profiles::PlayableCallback> hanging;
    std::map<std::string, std::vector<std::string>> playing;  // now_playing(), by player
    std::vector<std::string> dropped;                         // unused()
};

struct PlayerProfile : test_security::Stores {
    boost::asio::io_context io;
    std::shared_ptr<FakeMediaPlayer> player = std::make_shared<FakeMediaPlayer>(io);
    std::shared_ptr<FakeResolver> resolver = std::make_shared<FakeResolver>(io);
    std::shared_ptr<bridge::AccessPolicy> access;
    bridge::Device device{"mpris-vlc", disco::Identity{"automation", "media-player", "", "VLC"}};
    client::Peer owner = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/phone"), test_security::kOwnerFp);
    client::Peer friend_ = client::Peer::end_to_end_peer(Jid::must_parse("juliet@capulet.lit/tab"), test_security::kFriendFp);
    std::shared_ptr<FakeChannel> owner_ch, friend_ch;
    int next_id = 0;

    void SetUp() override {
        Stores::SetUp();
        access = std::make_shared<bridge::AccessPolicy>(true, "home@example.org", trust, grants);
        profiles::PlayerEventTiming timing;
        timing.period = 300ms;
        profiles::install_player_profile(io, device, player, access, resolver, timing, nullptr, kTestOpenDeadline);
        owner_ch = add(owner);
        friend_ch = add(friend_);
    }
    std::shared_ptr<FakeChannel> add(const client::Peer& peer) {
        auto ch = FakeChannel::create(io, peer);
        device.add_channel(ch);
        return ch;
    }
    void give(Permission p) {
        ASSERT_TRUE(grants->grant({{Jid::must_parse("juliet@capulet.lit"), Jid::must_parse("home@example.org/mpris-vlc"),
                                    p, {}, std::nullopt}}));
    }
    // Sends an IQ on `ch` and returns its answer once the loop has nothing left to do.
    // Sends an IQ on `ch` without running the loop; its id.
    std::string send(FakeChannel& ch, const char* type, xml::Element payload) {
        std::string id = "q" + std::to_string(++next_id);
        auto iq = stanza::iq(type, "home@example.org/mpris-vlc", id);
        iq.set_attr("from", ch.peer()->jid.str());
        iq.add_child(std::move(payload));
        ch.deliver(iq);
        return id;
    }
    static xml::Element answer_to(const FakeChannel& ch, const std::string& id) {
        for (const auto& s : ch.sent)
            if (s.name() == "iq" && s.attr_or("id") == id) return s;
        ADD_FAILURE() << "no answer to " << id;
        return xml::Element("none");
    }
    xml::Element ask(FakeChannel& ch, const char* type, xml::Element payload, std::chrono::milliseconds run = 100ms) {
        auto id = send(ch, type, std::move(payload));
        io.restart();
        io.run_for(run);
        return answer_to(ch, id);
    }
    xml::Element ask(const char* type, xml::Element payload) { return ask(*owner_ch, type, std::move(payload)); }
    static xml::Element player_cmd(const char* name, std::initializer_list<std::pair<const char*, const char*>> attrs = {}) {
        xml::Element p("player", ns::media_player);
        auto& c = p.add(name, ns::media_player);
        for (auto [k, v] : attrs) c.set_attr(k, v);
        return p;
    }
    static xml::Element control_set(std::initializer_list<std::pair<const char*, const char*>> vars) {
        xml::Element c("control", ns::media_control);
        for (auto [k, v] : vars) c.add("variable", ns::media_control).set_attr("name", k).add_text(v);
        return c;
    }
    static xml::Element pubsub(const char* op, const char* node) {
        xml::Element p("pubsub", ns::pubsub);
        p.add(op, ns::pubsub).set_attr("node", node);
        return p;
    }
    // The condition of an error answer ("result" for a result), checking the <text/>.
    static std::string outcome(const xml::Element& reply) {
        if (reply.attr_or("type") == "result") return "result";
        EXPECT_FALSE(reply.child("error") ? reply.child("error")->child_text("text", ns::stanzas).empty() : true)
            << reply.to_string();
        return stanza::error_condition(reply);
    }
    // The pubsub events on a channel, as (node, payload).
    static std::vector<std::pair<std::string, xml::Element>> events(const FakeChannel& ch) {
        std::vector<std::pair<std::string, xml::Element>> out;
        for (const auto& m : ch.sent) {
            if (m.name() != "message") continue;
            const auto* items = m.child("event", ns::pubsub_event)->child("items");
            out.emplace_back(items->attr_or("node"), *items->child("item")->first_element());
        }
        return out;
    }
    // Runs the loop until `ch` has `n` events or `limit` passes; the time it took.
    std::chrono::milliseconds run_until_events(const FakeChannel& ch, std::size_t n, std::chrono::milliseconds limit) {
        auto start = std::chrono::steady_clock::now();
        io.restart();
        while (events(ch).size() < n && std::chrono::steady_clock::now() - start < limit) io.run_one_for(limit);
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    }
};

TEST_F(PlayerProfile, AnnouncesBothFeatures) {
    auto info = device.info();
    auto has = [&](const char* f) {
        return std::find(info.features.begin(), info.features.end(), f) != info.features.end();
    };
    EXPECT_TRUE(has("urn:xmpp:tmp:media:player:0"));
    EXPECT_TRUE(has("urn:xmpp:tmp:media:control:0"));
}

TEST_F(PlayerProfile, EachCommandReachesThePlayer) {
    for (const char* c : {"play", "pause", "stop", "next", "previous"}) EXPECT_EQ(outcome(ask("set", player_cmd(c))), "result") << c;
    EXPECT_EQ(outcome(ask("set", player_cmd("seek", {{"position", "120.5"}}))), "result");
    EXPECT_EQ(outcome(ask("set", player_cmd("seek", {{"offset", "-10"}}))), "result");
    EXPECT_EQ(player->calls, (std::vector<std::string>{"play", "pause", "stop", "next", "previous",
                                                       "seek_to 120.500000", "seek_by -10.000000"}));
}

TEST_F(PlayerProfile, PlayerErrorsAreAnsweredAsTheyAre) {
    player->fail_next = Error{"feature-not-implemented", "this player cannot seek"};
    auto r = ask("set", player_cmd("seek", {{"position", "3"}}));
    EXPECT_EQ(outcome(r), "feature-not-implemented");
    EXPECT_EQ(r.child("error")->child_text("text", ns::stanzas), "this player cannot seek");
    player->fail_next = Error{"remote-server-timeout", "the player did not answer within 10 s"};
    EXPECT_EQ(outcome(ask("set", player_cmd("play"))), "remote-server-timeout");
}

TEST_F(PlayerProfile, OpenResolvesEveryUriAndAnswersTheFirstItem) {
    xml::Element p("player", ns::media_player);
    auto& open = p.add("open", ns::media_player);
    open.add_text_child("uri", "http://a/1.wav", ns::media_player);
    open.add_text_child("uri", "http://a/2.wav", ns::media_player);
    auto r = ask("set", p);
    ASSERT_EQ(outcome(r), "result") << r.to_string();
    const auto* item = r.child("item", ns::media_metadata);
    ASSERT_TRUE(item) << r.to_string();
    EXPECT_EQ(item->child_text("uri", ns::media_metadata), "http://a/1.wav");  // the wire URI, not the resolved URL
    ASSERT_EQ(player->opened.size(), 2u);
    EXPECT_EQ(player->opened[1].url, "http://a/2.wav#lan");
    ASSERT_EQ(resolver->requests.size(), 2u);
    EXPECT_EQ(resolver->requests[0].player, "mpris-vlc");
    EXPECT_EQ(resolver->requests[0].peer.jid, owner.jid);
    // The resolver learns what the player plays now (its served URLs of earlier opens may go).
    EXPECT_EQ(resolver->playing["mpris-vlc"], (std::vector<std::string>{"http://a/1.wav#lan", "http://a/2.wav#lan"}));
    EXPECT_TRUE(resolver->dropped.empty());

    xml::Element m("player", ns::media_player);
    m.add("open", ns::media_player).add_text_child("uri", "xmpp:meta", ns::media_player);
    r = ask("set", m);
    ASSERT_TRUE(r.child("item", ns::media_metadata));
    EXPECT_EQ(r.child("item", ns::media_metadata)->child_text("title", ns::media_metadata), "Known");
}

TEST_F(PlayerProfile, OpenFetchesMetadataForTheFirstItemOnly) {
    xml::Element p("player", ns::media_player);
    auto& open = p.add("open", ns::media_player);
    for (int i = 0; i < 3; ++i) open.add_text_child("uri", "http://a/" + std::to_string(i), ns::media_player);
    ASSERT_EQ(outcome(ask("set", p)), "result");
    ASSERT_EQ(resolver->requests.size(), 3u);
    EXPECT_TRUE(resolver->requests[0].want_metadata);
    EXPECT_FALSE(resolver->requests[1].want_metadata);
    EXPECT_FALSE(resolver->requests[2].want_metadata);
}

TEST_F(PlayerProfile, AnOpenWhoseNasNeverAnswersTimesOutOnceAndOpensNothing) {
    xml::Element p("player", ns::media_player);
    auto& open = p.add("open", ns::media_player);
    open.add_text_child("uri", "http://a/1.wav", ns::media_player);
    for (int i = 1; i < 100; ++i) open.add_text_child("uri", "xmpp:hang", ns::media_player);
    auto r = ask(*owner_ch, "set", p, 5 * kTestOpenDeadline);
    EXPECT_EQ(outcome(r), "remote-server-timeout") << r.to_string();
    ASSERT_EQ(resolver->hanging.size(), 1u);  // in order: the second URI never resolved
    // The NAS answers after all: nothing is opened and no second answer goes out.
    auto sent = owner_ch->sent.size();
    // Taken out of the fake first: a kept callback would hold the open, which holds the fake (a cycle).
    auto late = std::move(resolver->hanging.front());
    resolver->hanging.clear();
    late(profiles::PlayableItem{"http://nas/late", std::nullopt});
    io.restart();
    io.run_for(100ms);
    EXPECT_TRUE(player->opened.empty());
    EXPECT_EQ(owner_ch->sent.size(), sent);
}

TEST_F(PlayerProfile, OneDeadlineBoundsAllTheUrisOfAnOpen) {
    // 100 URIs that each take 10 ms: longer together than the deadline.
    xml::Element p("player", ns::media_player);
    auto& open = p.add("open", ns::media_player);
    for (int i = 0; i < 100; ++i) open.add_text_child("uri", "xmpp:slow", ns::media_player);
    auto r = ask(*owner_ch, "set", p, 5 * kTestOpenDeadline);
    EXPECT_EQ(outcome(r), "remote-server-timeout") << r.to_string();
    EXPECT_LT(resolver->requests.size(), 100u);
    EXPECT_TRUE(player->opened.empty());
}

TEST_F(PlayerProfile, OneRefusedUriRefusesTheWholeOpen) {
    xml::Element p("player", ns::media_player);
    auto& open = p.add("open", ns::media_player);
    open.add_text_child("uri", "http://a/1.wav", ns::media_player);
    open.add_text_child("uri", "file:///etc/passwd", ns::media_player);
    EXPECT_EQ(outcome(ask("set", p)), "forbidden");
    EXPECT_TRUE(player->opened.empty());
    EXPECT_TRUE(player->calls.empty());
    // What was resolved for the refused open is given back, and nothing is "now playing".
    EXPECT_EQ(resolver->dropped, (std::vector<std::string>{"http://a/1.wav#lan"}));
    EXPECT_TRUE(resolver->playing.empty());
}

TEST_F(PlayerProfile, AFailedOpenGivesBackWhatWasResolved) {
    xml::Element p("player", ns::media_player);
    p.add("open", ns::media_player).add_text_child("uri", "http://a/1.wav", ns::media_player);
    player->fail_next = Error{"remote-server-timeout", "the player did not answer within 10 s"};
    EXPECT_EQ(outcome(ask("set", p)), "remote-server-timeout");
    EXPECT_EQ(resolver->dropped, (std::vector<std::string>{"http://a/1.wav#lan"}));
    EXPECT_TRUE(resolver->playing.empty());
}

TEST_F(PlayerProfile, MalformedRequestsAreBadRequests) {
    EXPECT_EQ(outcome(ask("set", xml::Element("player", ns::media_player))), "bad-request");
    auto two = player_cmd("play");
    two.add("pause", ns::media_player);
    EXPECT_EQ(outcome(ask("set", two)), "bad-request");
    EXPECT_EQ(outcome(ask("set", player_cmd("open"))), "bad-request");
    xml::Element empty_uri("player", ns::media_player);
    empty_uri.add("open", ns::media_player).add("uri", ns::media_player);
    EXPECT_EQ(outcome(ask("set", empty_uri)), "bad-request");
    xml::Element many("player", ns::media_player);
    auto& open = many.add("open", ns::media_player);
    for (int i = 0; i < 101; ++i) open.add_text_child("uri", "http://a/" + std::to_string(i), ns::media_player);
    EXPECT_EQ(outcome(ask("set", many)), "bad-request");
    EXPECT_EQ(outcome(ask("set", player_cmd("seek"))), "bad-request");
    EXPECT_EQ(outcome(ask("set", player_cmd("seek", {{"position", "1"}, {"offset", "1"}}))), "bad-request");
    for (const char* v : {"", "x", "-1", "nan", "inf", "1e999", "12s", "1e300", "1000000001"})
        EXPECT_EQ(outcome(ask("set", player_cmd("seek", {{"position", v}}))), "bad-request") << v;
    for (const char* v : {"abc", "1e300", "-1e300", "-inf"})
        EXPECT_EQ(outcome(ask("set", player_cmd("seek", {{"offset", v}}))), "bad-request") << v;
    EXPECT_TRUE(player->calls.empty());
}

TEST_F(PlayerProfile, UnknownElementsAreServiceUnavailable) {
    EXPECT_EQ(outcome(ask("set", player_cmd("rewind"))), "service-unavailable");
    xml::Element foreign("player", ns::media_player);
    foreign.add("play", "urn:other");
    EXPECT_EQ(outcome(ask("set", foreign)), "service-unavailable");
    EXPECT_EQ(outcome(ask("get", player_cmd("play"))), "service-unavailable");
    EXPECT_EQ(outcome(ask("set", xml::Element("shuffle", ns::media_player))), "service-unavailable");
    EXPECT_EQ(outcome(ask("set", pubsub("publish", ns::player_status_node))), "service-unavailable");
    auto c = control_set({});
    c.add("knob", ns::media_control);
    EXPECT_EQ(outcome(ask("set", c)), "service-unavailable");
}

TEST_F(PlayerProfile, StatusIsThePlayersStatus) {
    player->status_.state = PlayState::Paused;
    player->status_.position = 12.5;
    player->status_.duration = 830.5;
    player->status_.seekable = true;
    xml::Element item("item", ns::media_metadata);
    item.add_text_child("title", "Song", ns::media_metadata);
    player->status_.item = item;
    auto r = ask("get", player_cmd("status"));
    const auto* s = r.child("status", ns::media_player);
    ASSERT_TRUE(s) << r.to_string();
    EXPECT_EQ(s->attr_or("state"), "paused");
    EXPECT_EQ(s->attr_or("position"), "12.5");
    EXPECT_EQ(s->attr_or("duration"), "830.5");
    EXPECT_EQ(s->attr_or("seekable"), "true");
    EXPECT_EQ(s->child("item", ns::media_metadata)->child_text("title", ns::media_metadata), "Song");
}

TEST_F(PlayerProfile, ControlListsAndSetsVariables) {
    player->controls_ = {60, false};
    auto r = ask("get", xml::Element("control", ns::media_control));
    auto vars = r.child("control", ns::media_control)->children("variable", ns::media_control);
    ASSERT_EQ(vars.size(), 2u) << r.to_string();
    EXPECT_EQ(vars[0]->attr_or("name"), "volume");
    EXPECT_EQ(vars[0]->attr_or("min"), "0");
    EXPECT_EQ(vars[0]->attr_or("max"), "100");
    EXPECT_EQ(vars[0]->text(), "60");
    EXPECT_EQ(vars[1]->attr_or("name"), "mute");
    EXPECT_EQ(vars[1]->text(), "false");
    EXPECT_EQ(outcome(ask("set", control_set({{"volume", "30"}, {"mute", "true"}}))), "result");
    EXPECT_EQ(player->calls, (std::vector<std::string>{"volume 30", "mute on"}));  // the player's own mute
}

TEST_F(PlayerProfile, ControlErrors) {
    EXPECT_EQ(outcome(ask("set", control_set({{"balance", "3"}}))), "item-not-found");
    for (const char* v : {"101", "-1", "loud", "", "5.5", "50 "})
        EXPECT_EQ(outcome(ask("set", control_set({{"volume", v}}))), "bad-request") << v;
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "yes"}}))), "bad-request");
    EXPECT_EQ(outcome(ask("set", control_set({{"volume", "1"}, {"volume", "2"}}))), "bad-request");
    EXPECT_EQ(outcome(ask("set", control_set({}))), "bad-request");
    EXPECT_TRUE(player->calls.empty());
    player->controls_ = {std::nullopt, std::nullopt};  // a player with neither
    EXPECT_EQ(outcome(ask("set", control_set({{"volume", "3"}}))), "item-not-found");
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}}))), "item-not-found");
    auto r = ask("get", xml::Element("control", ns::media_control));
    EXPECT_TRUE(r.child("control", ns::media_control)->elements().empty()) << r.to_string();
}

TEST_F(PlayerProfile, AControlSetIsCheckedWholeBeforeAnyIsApplied) {
    player->controls_ = {50, std::nullopt};
    EXPECT_EQ(outcome(ask("set", control_set({{"volume", "30"}, {"balance", "3"}}))), "item-not-found");
    EXPECT_EQ(outcome(ask("set", control_set({{"volume", "30"}, {"mute", "maybe"}}))), "bad-request");
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}, {"volume", "300"}}))), "bad-request");
    // A player with a mute of its own but no volume: neither change is made.
    player->controls_ = {std::nullopt, false};
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}, {"volume", "30"}}))), "item-not-found");
    EXPECT_TRUE(player->calls.empty());
    EXPECT_EQ(player->controls_.mute, false);
}

TEST_F(PlayerProfile, AReadOvertakenByAnEmulatedMuteKeepsTheSavedVolume) {
    player->controls_ = {70, std::nullopt};
    // A controls read starts (it reads 70), then "mute on" overtakes it.
    player->hold_controls = true;
    auto old_read = send(*owner_ch, "get", xml::Element("control", ns::media_control));
    player->hold_controls = false;
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}}))), "result");
    EXPECT_EQ(player->controls_.volume, 0);
    player->release_controls();
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(outcome(answer_to(*owner_ch, old_read)), "result");
    // The stale 70 did not end the mute: unmuting restores the saved volume.
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "false"}}))), "result");
    EXPECT_EQ(player->controls_.volume, 70);
    EXPECT_EQ(player->calls, (std::vector<std::string>{"volume 0", "volume 70"}));
}

TEST_F(PlayerProfile, MuteIsEmulatedWithTheVolume) {
    player->controls_ = {70, std::nullopt};
    auto mute_shown = [&] {
        auto r = ask("get", xml::Element("control", ns::media_control));
        for (const auto* v : r.child("control", ns::media_control)->children("variable", ns::media_control))
            if (v->attr_or("name") == "mute") return v->text();
        return std::string("none");
    };
    EXPECT_EQ(mute_shown(), "false");
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}}))), "result");
    EXPECT_EQ(player->controls_.volume, 0);
    EXPECT_EQ(mute_shown(), "true");
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}}))), "result");  // again: the saved volume stays
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "false"}}))), "result");
    EXPECT_EQ(player->controls_.volume, 70);
    EXPECT_EQ(mute_shown(), "false");
    // Setting a volume while muted unmutes.
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}, {"volume", "20"}}))), "result");
    EXPECT_EQ(player->controls_.volume, 20);
    EXPECT_EQ(mute_shown(), "false");
    // Turned up elsewhere while muted: no longer muted.
    EXPECT_EQ(outcome(ask("set", control_set({{"mute", "true"}}))), "result");
    player->controls_.volume = 40;
    EXPECT_EQ(mute_shown(), "false");
    EXPECT_EQ(player->calls, (std::vector<std::string>{"volume 0", "volume 70", "volume 0", "volume 20", "volume 0"}));
}

TEST_F(PlayerProfile, FriendsNeedControlToChangeAndEventsToRead) {
    EXPECT_EQ(outcome(ask(*friend_ch, "set", player_cmd("play"))), "forbidden");
    EXPECT_EQ(outcome(ask(*friend_ch, "get", player_cmd("status"))), "forbidden");
    EXPECT_EQ(outcome(ask(*friend_ch, "set", pubsub("subscribe", ns::player_status_node))), "forbidden");
    give(Permission::Events);
    EXPECT_EQ(outcome(ask(*friend_ch, "set", player_cmd("play"))), "forbidden");
    EXPECT_EQ(outcome(ask(*friend_ch, "set", control_set({{"volume", "3"}}))), "forbidden");
    EXPECT_EQ(outcome(ask(*friend_ch, "get", player_cmd("status"))), "result");
    EXPECT_EQ(outcome(ask(*friend_ch, "get", xml::Element("control", ns::media_control))), "result");
    EXPECT_EQ(outcome(ask(*friend_ch, "set", pubsub("subscribe", ns::player_status_node))), "result");
    EXPECT_TRUE(player->calls.empty());
    give(Permission::Control);
    EXPECT_EQ(outcome(ask(*friend_ch, "set", player_cmd("play"))), "result");
    EXPECT_EQ(outcome(ask(*friend_ch, "set", control_set({{"volume", "3"}}))), "result");
    EXPECT_EQ(player->calls, (std::vector<std::string>{"play", "volume 3"}));
}

TEST_F(PlayerProfile, PlainC2sNeedsEndToEnd) {
    auto c2s = add(fakes::c2s_peer("home@example.org/phone"));
    EXPECT_EQ(outcome(ask(*c2s, "set", player_cmd("play"))), "not-authorized");
}

TEST_F(PlayerProfile, ANewSubscriberGetsTheCurrentItemAtOnce) {
    player->status_.state = PlayState::Paused;
    player->status_.position = 4;
    auto r = ask("set", pubsub("subscribe", ns::player_status_node));
    ASSERT_EQ(outcome(r), "result");
    const auto* sub = r.child("pubsub", ns::pubsub)->child("subscription", ns::pubsub);
    EXPECT_EQ(sub->attr_or("subscription"), "subscribed");
    EXPECT_EQ(sub->attr_or("node"), ns::player_status_node);
    auto ev = events(*owner_ch);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].first, ns::player_status_node);
    EXPECT_EQ(ev[0].second.attr_or("state"), "paused");
    EXPECT_EQ(ev[0].second.attr_or("position"), "4");
    // The event message names its item and goes to the subscriber.
    const auto& msg = *std::find_if(owner_ch->sent.begin(), owner_ch->sent.end(),
                                    [](const xml::Element& m) { return m.name() == "message"; });
    EXPECT_EQ(msg.attr_or("to"), owner.jid.str());
    EXPECT_EQ(msg.child("event", ns::pubsub_event)->child("items")->child("item")->attr_or("id"), "status");

    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_controls_node))), "result");
    ev = events(*owner_ch);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[1].first, ns::player_controls_node);
    EXPECT_EQ(ev[1].second.name(), "control");
    EXPECT_EQ(outcome(ask("set", pubsub("subscribe", "urn:other"))), "item-not-found");
    EXPECT_EQ(outcome(ask("set", pubsub("unsubscribe", "urn:other"))), "item-not-found");
}

TEST_F(PlayerProfile, ChangesArriveWithin250msCoalesced) {
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_status_node))), "result");
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_controls_node))), "result");
    ASSERT_EQ(events(*owner_ch).size(), 2u);
    EXPECT_TRUE(player->listener);
    player->status_.state = PlayState::Paused;
    int reads = player->status_reads;
    for (int i = 0; i < 10; ++i) player->report({true, false, false});  // a burst
    player->controls_.volume = 12;
    player->report({false, false, true});
    auto took = run_until_events(*owner_ch, 4, 1000ms);
    EXPECT_LT(took, 250ms);
    io.restart();
    io.run_for(150ms);  // nothing more comes of the burst
    auto ev = events(*owner_ch);
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(player->status_reads, reads + 1);
    for (std::size_t i = 2; i < 4; ++i) {
        if (ev[i].first == ns::player_status_node)
            EXPECT_EQ(ev[i].second.attr_or("state"), "paused");
        else
            EXPECT_EQ(ev[i].second.child("variable", ns::media_control)->text(), "12");
    }
}

TEST_F(PlayerProfile, OnlyTheChangedNodesSubscribersHearOfIt) {
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_controls_node))), "result");
    player->report({true, true, false});
    run_until_events(*owner_ch, 2, 300ms);
    EXPECT_EQ(events(*owner_ch).size(), 1u);  // the initial item only
}

TEST_F(PlayerProfile, PositionIsExtrapolatedAndSentEveryPeriodWhilePlaying) {
    player->status_.state = PlayState::Playing;
    player->status_.position = 10;
    player->status_.duration = 100;
    player->status_.rate = 2.0;
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_status_node))), "result");
    int reads = player->status_reads;
    auto took = run_until_events(*owner_ch, 3, 2000ms);  // two periods of 300 ms
    ASSERT_EQ(events(*owner_ch).size(), 3u);
    EXPECT_GE(took, 450ms);  // two periods, the first begun during the subscribe's 100 ms
    EXPECT_EQ(player->status_reads, reads);  // extrapolated, not read again
    double p1 = std::stod(events(*owner_ch)[1].second.attr_or("position"));
    double p2 = std::stod(events(*owner_ch)[2].second.attr_or("position"));
    EXPECT_NEAR(p2 - p1, 0.6, 0.15);  // 300 ms at rate 2
    EXPECT_GT(p1, 10.4);
    // A seek reads the player again.
    player->status_.position = 50;
    player->report({false, true, false});
    run_until_events(*owner_ch, 4, 250ms);
    ASSERT_EQ(events(*owner_ch).size(), 4u);
    EXPECT_NEAR(std::stod(events(*owner_ch)[3].second.attr_or("position")), 50, 0.1);
    // Paused: no more periodic events.
    player->status_.state = PlayState::Paused;
    player->report({true, false, false});
    run_until_events(*owner_ch, 6, 800ms);
    EXPECT_EQ(events(*owner_ch).size(), 5u);
}

TEST_F(PlayerProfile, PositionAtStopsAtTheDuration) {
    profiles::PlayerStatus s;
    s.state = PlayState::Playing;
    s.position = 8;
    s.duration = 10;
    auto t0 = std::chrono::steady_clock::time_point{};
    EXPECT_DOUBLE_EQ(*profiles::position_at(s, t0, t0 + 1s), 9);
    EXPECT_DOUBLE_EQ(*profiles::position_at(s, t0, t0 + 5s), 10);
    s.state = PlayState::Paused;
    EXPECT_DOUBLE_EQ(*profiles::position_at(s, t0, t0 + 5s), 8);
}

TEST_F(PlayerProfile, TheWatchLastsAsLongAsASubscription) {
    EXPECT_FALSE(player->listener);
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_status_node))), "result");
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_controls_node))), "result");
    EXPECT_TRUE(player->listener);
    EXPECT_EQ(player->watch_calls, 1);
    ASSERT_EQ(outcome(ask("set", pubsub("unsubscribe", ns::player_status_node))), "result");
    EXPECT_TRUE(player->listener);
    EXPECT_EQ(outcome(ask("set", pubsub("unsubscribe", ns::player_status_node))), "item-not-found");
    ASSERT_EQ(outcome(ask("set", pubsub("unsubscribe", ns::player_controls_node))), "result");
    EXPECT_FALSE(player->listener);
    // A subscription ends with its channel.
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_status_node))), "result");
    EXPECT_TRUE(player->listener);
    auto sent = events(*owner_ch).size();
    owner_ch->close();
    EXPECT_FALSE(player->listener);
    player->report({true, false, false});
    io.restart();
    io.run_for(200ms);
    EXPECT_EQ(events(*owner_ch).size(), sent);
}

TEST_F(PlayerProfile, AnotherPeersUnsubscribeEndsNothing) {
    give(Permission::Events);
    ASSERT_EQ(outcome(ask("set", pubsub("subscribe", ns::player_status_node))), "result");
    EXPECT_EQ(outcome(ask(*friend_ch, "set", pubsub("unsubscribe", ns::player_status_node))), "item-not-found");
    EXPECT_TRUE(player->listener);
}

TEST_F(PlayerProfile, ARevokedFriendHearsNoMore) {
    give(Permission::Events);
    ASSERT_EQ(outcome(ask(*friend_ch, "set", pubsub("subscribe", ns::player_status_node))), "result");
    ASSERT_EQ(events(*friend_ch).size(), 1u);
    ASSERT_TRUE(grants->revoke(Jid::must_parse("juliet@capulet.lit"), Jid::must_parse("home@example.org/mpris-vlc")));
    player->report({true, false, false});
    io.restart();
    io.run_for(250ms);
    EXPECT_EQ(events(*friend_ch).size(), 1u);
    EXPECT_FALSE(player->listener);  // that was the last subscription
}

TEST(PlayerXml, SecondsText) {
    EXPECT_EQ(profiles::seconds_text(12.5), "12.5");
    EXPECT_EQ(profiles::seconds_text(830), "830");
    EXPECT_EQ(profiles::seconds_text(0.1234), "0.123");
    EXPECT_EQ(profiles::seconds_text(-0.0001), "0");
}

}  // namespace
