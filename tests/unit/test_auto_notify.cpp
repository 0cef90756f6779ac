// Automatic event delivery (wire profile §7.3) and the caps cache behind it
// (XEP-0115): an owner whose presence caps hold `NODE+notify` and who has an
// end-to-end stream to the player gets that node's events without
// subscribing, after one verified disco#info per ver; unavailable presence
// or caps without the feature end it; a friend with the same caps gets
// nothing; an answer that does not hash to its ver is not believed.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "bridge/device.hpp"
#include "bridge/profiles/auto_notify.hpp"
#include "bridge/profiles/player_profile.hpp"
#include "fake_channel.hpp"
#include "fake_media_player.hpp"
#include "security_test_stores.hpp"
#include "xmpp/client/caps_cache.hpp"
#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using namespace std::chrono_literals;
using fakes::FakeChannel;
using fakes::FakeMediaPlayer;

namespace {

disco::Info controller_info(std::vector<std::string> extra) {
    disco::Info info;
    info.identities.push_back({"client", "pc", "", "xpmn"});
    info.features = {ns::disco_info, "urn:xmpp:xpmn:controller:0"};
    for (auto& f : extra) info.features.push_back(std::move(f));
    return info;
}

const std::vector<std::string> kBoth = {std::string(ns::player_status_node) + "+notify",
                                        std::string(ns::player_controls_node) + "+notify"};

struct AutoNotifyTest : test_security::Stores {
    boost::asio::io_context io;
    std::shared_ptr<FakeMediaPlayer> player = std::make_shared<FakeMediaPlayer>(io);
    std::shared_ptr<bridge::AccessPolicy> access;
    std::shared_ptr<client::CapsCache> caps = std::make_shared<client::CapsCache>();
    bridge::Device device{"mpris-mpv", disco::Identity{"automation", "media-player", "", "mpv"}};
    client::Peer owner = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/phone"), test_security::kOwnerFp);
    client::Peer friend_ = client::Peer::end_to_end_peer(Jid::must_parse("juliet@capulet.lit/tab"), test_security::kFriendFp);
    std::shared_ptr<FakeChannel> c2s;

    void SetUp() override {
        Stores::SetUp();
        access = std::make_shared<bridge::AccessPolicy>(true, "home@example.org", trust, grants);
        profiles::install_player_profile(io, device, player, access, nullptr, {}, caps);
        c2s = FakeChannel::create(io, std::nullopt);
        device.add_channel(c2s);
    }
    void give_friend_events() {
        ASSERT_TRUE(grants->grant({{Jid::must_parse("juliet@capulet.lit"), Jid::must_parse("home@example.org/mpris-mpv"),
                                    security::Permission::Events, {}, std::nullopt}}));
    }
    std::shared_ptr<FakeChannel> stream(const client::Peer& peer) {
        auto ch = FakeChannel::create(io, peer);
        device.add_channel(ch);
        return ch;
    }
    void presence(const char* from, const std::optional<disco::Info>& info, const char* type = nullptr) {
        xml::Element p = info ? client::caps_presence(*info) : xml::Element("presence", ns::client);
        p.set_attr("from", from);
        if (type) p.set_attr("type", type);
        c2s->deliver(p);
        run();
    }
    void run(std::chrono::milliseconds d = 200ms) {
        io.restart();
        io.run_for(d);
    }
    // The disco#info queries the device sent on its c2s channel.
    std::vector<xml::Element> discos() const {
        std::vector<xml::Element> out;
        for (const auto& s : c2s->sent)
            if (s.name() == "iq" && s.child("query", ns::disco_info)) out.push_back(s);
        return out;
    }
    // Answers a disco query with `info`.
    void answer(const xml::Element& query, const disco::Info& info) {
        auto r = stanza::iq("result", "", query.attr_or("id"));
        r.set_attr("from", query.attr_or("to"));
        r.set_attr("to", "home@example.org/mpris-mpv");
        r.add_child(disco::to_element(info, query.child("query", ns::disco_info)->attr_or("node")));
        c2s->deliver(r);
        run();
    }
    static std::vector<std::string> event_nodes(const FakeChannel& ch) {
        std::vector<std::string> out;
        for (const auto& m : ch.sent)
            if (m.name() == "message") out.push_back(m.child("event", ns::pubsub_event)->child("items")->attr_or("node"));
        return out;
    }
};

}  // namespace

TEST(NotifyNodes, OnlyTheProfilesNodes) {
    EXPECT_EQ(profiles::notify_nodes({"urn:xmpp:media:player:status+notify", "urn:other+notify",
                                      "urn:xmpp:tmp:media:control:0"}),
              std::vector<std::string>{ns::player_status_node});
}

TEST(ReadCaps, Sha1Only) {
    auto p = client::caps_presence(controller_info({}));
    auto caps = client::read_caps(p);
    ASSERT_TRUE(caps);
    EXPECT_EQ(caps->node, client::caps_node);
    EXPECT_EQ(caps->ver, disco::caps_ver(controller_info({})));
    p.child("c", ns::caps)->set_attr("hash", "md5");
    EXPECT_FALSE(client::read_caps(p));
    EXPECT_FALSE(client::read_caps(xml::Element("presence", ns::client)));
}

TEST_F(AutoNotifyTest, AnOwnerWithNotifyCapsGetsEventsWithoutSubscribing) {
    auto phone = stream(owner);
    presence("home@example.org/phone", controller_info(kBoth));
    auto q = discos();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].attr_or("to"), "home@example.org/phone");
    EXPECT_EQ(q[0].child("query", ns::disco_info)->attr_or("node"),
              std::string(client::caps_node) + "#" + disco::caps_ver(controller_info(kBoth)));
    EXPECT_TRUE(event_nodes(*phone).empty());
    answer(q[0], controller_info(kBoth));
    // The current items at once, then the changes.
    auto nodes = event_nodes(*phone);
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_TRUE(player->listener);
    player->report({true, false, false});
    run();
    EXPECT_EQ(event_nodes(*phone).size(), 3u);
    EXPECT_EQ(event_nodes(*phone).back(), ns::player_status_node);

    // A second stream of the same ver: no second query (the cache), events at once.
    auto laptop_peer = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/laptop"), test_security::kOwnerFp);
    presence("home@example.org/laptop", controller_info(kBoth));
    auto laptop = stream(laptop_peer);
    run();
    EXPECT_EQ(discos().size(), 1u);
    EXPECT_EQ(event_nodes(*laptop).size(), 2u);

    // Unavailable presence ends the phone's delivery; the laptop's goes on.
    presence("home@example.org/phone", std::nullopt, "unavailable");
    player->report({true, false, false});
    run();
    EXPECT_EQ(event_nodes(*phone).size(), 3u);
    EXPECT_EQ(event_nodes(*laptop).size(), 3u);
    // So does a stream's end.
    laptop->close();
    EXPECT_FALSE(player->listener);
}

TEST_F(AutoNotifyTest, CapsWithoutTheFeatureEndIt) {
    auto phone = stream(owner);
    presence("home@example.org/phone", controller_info({kBoth[0]}));
    answer(discos().at(0), controller_info({kBoth[0]}));
    EXPECT_EQ(event_nodes(*phone), std::vector<std::string>{ns::player_status_node});
    presence("home@example.org/phone", controller_info({}));
    answer(discos().at(1), controller_info({}));
    EXPECT_FALSE(player->listener);
}

TEST_F(AutoNotifyTest, AnExplicitSubscriptionOutlivesTheAutomaticOne) {
    auto phone = stream(owner);
    presence("home@example.org/phone", controller_info(kBoth));
    answer(discos().at(0), controller_info(kBoth));
    xml::Element sub("pubsub", ns::pubsub);
    sub.add("subscribe", ns::pubsub).set_attr("node", ns::player_status_node);
    auto iq = stanza::iq("set", "home@example.org/mpris-mpv", "s1");
    iq.add_child(sub);
    phone->deliver(iq);
    run();
    presence("home@example.org/phone", std::nullopt, "unavailable");
    EXPECT_TRUE(player->listener);  // the explicit status subscription stays
}

TEST_F(AutoNotifyTest, AFriendWithTheSameCapsGetsNothing) {
    give_friend_events();
    auto tab = stream(friend_);
    presence("juliet@capulet.lit/tab", controller_info(kBoth));
    EXPECT_TRUE(discos().empty());
    EXPECT_TRUE(event_nodes(*tab).empty());
    EXPECT_FALSE(player->listener);
}

TEST_F(AutoNotifyTest, NoStreamNoQuery) {
    presence("home@example.org/phone", controller_info(kBoth));
    EXPECT_TRUE(discos().empty());
    auto phone = stream(owner);  // the stream comes up after the presence
    run();
    ASSERT_EQ(discos().size(), 1u);
    answer(discos()[0], controller_info(kBoth));
    EXPECT_EQ(event_nodes(*phone).size(), 2u);
}

TEST_F(AutoNotifyTest, AnAnswerThatDoesNotHashToItsVerIsNotBelieved) {
    auto phone = stream(owner);
    presence("home@example.org/phone", controller_info({}));  // a ver without +notify …
    answer(discos().at(0), controller_info(kBoth));           // … answered with it
    EXPECT_TRUE(event_nodes(*phone).empty());
    EXPECT_EQ(caps->size(), 0u);
}

TEST(CapsCacheBounds, OldestVerForgottenAndOneQueryPerVer) {
    boost::asio::io_context io;
    auto ch = FakeChannel::create(io, std::nullopt);
    auto cache_ptr = std::make_shared<client::CapsCache>(2);  // its answers find it by weak_from_this
    auto& cache = *cache_ptr;
    std::vector<disco::Info> infos;
    for (int i = 0; i < 3; ++i) infos.push_back(controller_info({"urn:f" + std::to_string(i)}));
    int answered = 0;
    for (const auto& info : infos) {
        client::Caps caps{client::caps_node, disco::caps_ver(info)};
        for (int twice = 0; twice < 2; ++twice)
            cache.features(caps, "home@example.org/c", ch->router(), [&](auto f) { answered += f ? 1 : 0; });
    }
    ASSERT_EQ(ch->sent.size(), 3u);  // one per ver
    for (std::size_t i = 0; i < 3; ++i) {
        auto r = stanza::iq("result", "", ch->sent[i].attr_or("id"));
        r.set_attr("from", "home@example.org/c");
        r.add_child(disco::to_element(infos[i]));
        ch->deliver(r);
    }
    EXPECT_EQ(answered, 6);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_FALSE(cache.cached(disco::caps_ver(infos[0])));
    EXPECT_TRUE(cache.cached(disco::caps_ver(infos[2])));
}
