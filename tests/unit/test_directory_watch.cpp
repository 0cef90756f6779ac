// Watch nodes of the Directory profile (wire profile §5): one node per
// (channel, peer, container), events shaped as pubsub#event messages sent on
// the node's channel, at most one per node per 200 ms with the latest update
// id, ended by unsubscribe, when the peer leaves, or when the channel closes.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "bridge/profiles/directory_watch.hpp"
#include "fake_channel.hpp"

using namespace xpmn;
using profiles::DirectoryWatch;
using fakes::c2s_peer;
using fakes::FakeChannel;

namespace {

const client::Peer kAlice = c2s_peer("me@example.org/phone");
const client::Peer kBob = c2s_peer("me@example.org/laptop");

struct Event {
    std::string to, node, container, update_id;
};

class WatchTest : public ::testing::Test {
protected:
    WatchTest() {
        watch.attach(c2s);
        watch.on_watched_changed([this] { ++set_changes; });
    }
    // The events sent on a channel so far.
    static std::vector<Event> events(const FakeChannel& ch) {
        std::vector<Event> out;
        for (const auto& m : ch.sent) {
            const auto* items = m.child("event", "http://jabber.org/protocol/pubsub#event")->child("items");
            const auto* c = items->child("item")->child("container", "urn:xmpp:media:metadata:0");
            out.push_back({m.attr_or("to"), items->attr_or("node"), c->attr_or("id"), c->attr_or("update-id")});
        }
        return out;
    }
    std::vector<Event> sent() const { return events(*c2s); }

    boost::asio::io_context io;
    std::shared_ptr<FakeChannel> c2s = FakeChannel::create(io, std::nullopt);
    std::shared_ptr<DirectoryWatch> owner = std::make_shared<DirectoryWatch>(io);  // timers hold it weakly
    DirectoryWatch& watch = *owner;
    int set_changes = 0;
};

TEST_F(WatchTest, OneNodePerPeerAndContainer) {
    auto a = watch.subscribe(c2s, kAlice, "64");
    auto again = watch.subscribe(c2s, kAlice, "64");
    auto b = watch.subscribe(c2s, kBob, "64");
    auto c = watch.subscribe(c2s, kAlice, "1$7");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a, *again);
    EXPECT_NE(*a, *b);
    EXPECT_EQ(a->rfind("dyn-", 0), 0u);
    EXPECT_EQ(watch.size(), 3u);
    EXPECT_EQ(set_changes, 3);  // the repeated subscription changed nothing
    EXPECT_EQ(watch.containers(), (std::set<std::string>{"1$7", "64"}));
}

TEST_F(WatchTest, EventsGoToTheWatchersOfThatContainer) {
    auto a = watch.subscribe(c2s, kAlice, "64");
    watch.subscribe(c2s, kBob, "1$7");
    watch.changed("64", 18);
    auto s = sent();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].to, kAlice.jid.str());
    EXPECT_EQ(s[0].node, *a);
    EXPECT_EQ(s[0].container, "64");
    EXPECT_EQ(s[0].update_id, "18");
    watch.changed("99", 3);  // nobody watches it
    EXPECT_EQ(sent().size(), 1u);
}

TEST_F(WatchTest, SomethingChangedReachesEveryNode) {
    watch.subscribe(c2s, kAlice, "64");
    watch.subscribe(c2s, kBob, "1$7");
    watch.changed("*", 5);
    auto s = sent();
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].update_id, "5");
    EXPECT_EQ(s[1].update_id, "5");
}

TEST_F(WatchTest, AtMostOneEventPer200msAndTheLatestWins) {
    watch.subscribe(c2s, kAlice, "64");
    // Taken before the first event leaves: the second may follow that event
    // no sooner than the interval, so it cannot come sooner after this either.
    auto start = std::chrono::steady_clock::now();
    watch.changed("64", 1);
    watch.changed("64", 2);
    watch.changed("64", 3);
    ASSERT_EQ(sent().size(), 1u);
    EXPECT_EQ(sent()[0].update_id, "1");
    io.run_for(std::chrono::milliseconds(600));
    auto s = sent();
    ASSERT_EQ(s.size(), 2u);  // 2 was replaced by 3 while waiting
    EXPECT_EQ(s[1].update_id, "3");
    EXPECT_GE(std::chrono::steady_clock::now() - start, DirectoryWatch::kMinInterval - std::chrono::milliseconds(1));
}

TEST_F(WatchTest, UnsubscribeOnlyByItsPeerOnItsChannel) {
    auto a = watch.subscribe(c2s, kAlice, "64");
    auto other = FakeChannel::create(io, kAlice);
    watch.attach(other);
    EXPECT_FALSE(watch.unsubscribe(c2s, kBob, *a));
    EXPECT_FALSE(watch.unsubscribe(other, kAlice, *a));  // the same JID on another channel
    EXPECT_FALSE(watch.unsubscribe(c2s, kAlice, "dyn-nope"));
    EXPECT_TRUE(watch.unsubscribe(c2s, kAlice, *a));
    EXPECT_TRUE(watch.empty());
    EXPECT_EQ(set_changes, 2);
    watch.changed("64", 9);
    EXPECT_TRUE(sent().empty());
}

TEST_F(WatchTest, PendingEventIsDroppedWithItsNode) {
    auto a = watch.subscribe(c2s, kAlice, "64");
    watch.changed("64", 1);
    watch.changed("64", 2);  // waits for the interval
    watch.unsubscribe(c2s, kAlice, *a);
    io.run_for(std::chrono::milliseconds(400));
    EXPECT_EQ(sent().size(), 1u);
}

TEST_F(WatchTest, APeerThatLeavesLosesItsNodes) {
    watch.subscribe(c2s, kAlice, "64");
    watch.subscribe(c2s, kAlice, "1$7");
    watch.subscribe(c2s, kBob, "64");
    set_changes = 0;
    c2s->leave(kAlice);
    EXPECT_EQ(watch.size(), 1u);
    EXPECT_EQ(set_changes, 1);
    EXPECT_EQ(watch.containers(), (std::set<std::string>{"64"}));
    c2s->leave(c2s_peer("stranger@example.org/x"));
    EXPECT_EQ(set_changes, 1);
}

TEST_F(WatchTest, AClosedChannelEndsItsNodesOnly) {
    auto e2e = FakeChannel::create(io, client::Peer::end_to_end_peer(Jid::must_parse("friend@y/tab"), "ff"));
    watch.attach(e2e);
    watch.subscribe(c2s, kAlice, "64");
    watch.subscribe(e2e, *e2e->peer(), "64");
    watch.changed("64", 4);
    EXPECT_EQ(sent().size(), 1u);
    EXPECT_EQ(events(*e2e).size(), 1u);
    EXPECT_EQ(events(*e2e)[0].to, "friend@y/tab");
    e2e->close();
    EXPECT_EQ(watch.size(), 1u);
    EXPECT_EQ(watch.containers(), (std::set<std::string>{"64"}));
    watch.changed("64", 5);
    io.run_for(std::chrono::milliseconds(600));  // the c2s node's interval
    EXPECT_EQ(sent().size(), 2u);
    EXPECT_EQ(events(*e2e).size(), 1u);
}

TEST_F(WatchTest, NodeLimit) {
    for (std::size_t i = 0; i < DirectoryWatch::kMaxNodes; ++i)
        ASSERT_TRUE(watch.subscribe(c2s, kAlice, std::to_string(i)));
    EXPECT_FALSE(watch.subscribe(c2s, kAlice, "one-too-many"));
    EXPECT_TRUE(watch.subscribe(c2s, kAlice, "7"));  // an existing one is still found
}

// A channel whose send reports its peer gone at once (a failed send).
class LeavingChannel : public client::PeerChannel {
public:
    explicit LeavingChannel(boost::asio::io_context& io) : router_(io) {}
    client::StanzaRouter& router() override { return router_; }
    void send(xml::Element m) override {
        ++sends;
        peer_gone(c2s_peer(m.attr_or("to").c_str()));
    }
    std::optional<client::Peer> peer() const override { return std::nullopt; }
    std::string describe() const override { return "leaving"; }
    int sends = 0;

private:
    client::StanzaRouter router_;
};

TEST_F(WatchTest, SendingMayEndNodes) {
    auto ch = std::make_shared<LeavingChannel>(io);
    watch.attach(ch);
    watch.subscribe(ch, kAlice, "64");
    watch.subscribe(ch, kAlice, "1$7");
    watch.subscribe(ch, kBob, "64");
    watch.changed("*", 3);
    EXPECT_EQ(ch->sends, 2);  // Alice's second node was gone before its turn
    EXPECT_TRUE(watch.empty());
}

}  // namespace
