// Watch nodes of the Directory profile (wire profile §5): one node per
// (controller, container), events shaped as pubsub#event messages, at most
// one per node per 200 ms with the latest update id, ended by unsubscribe or
// when the controller goes offline.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "bridge/profiles/directory_watch.hpp"

using namespace xpmn;
using profiles::DirectoryWatch;

namespace {

constexpr const char* kAlice = "me@example.org/phone";
constexpr const char* kBob = "me@example.org/laptop";

struct Event {
    std::string to, node, container, update_id;
};

class WatchTest : public ::testing::Test {
protected:
    WatchTest() {
        watch.set_sender([this](xml::Element m) {
            const auto* items = m.child("event", "http://jabber.org/protocol/pubsub#event")->child("items");
            const auto* c = items->child("item")->child("container", "urn:xmpp:media:metadata:0");
            sent.push_back({m.attr_or("to"), items->attr_or("node"), c->attr_or("id"), c->attr_or("update-id")});
        });
        watch.on_watched_changed([this] { ++set_changes; });
    }
    boost::asio::io_context io;
    std::shared_ptr<DirectoryWatch> owner = std::make_shared<DirectoryWatch>(io);  // timers hold it weakly
    DirectoryWatch& watch = *owner;
    std::vector<Event> sent;
    int set_changes = 0;
};

TEST_F(WatchTest, OneNodePerControllerAndContainer) {
    auto a = watch.subscribe(kAlice, "64");
    auto again = watch.subscribe(kAlice, "64");
    auto b = watch.subscribe(kBob, "64");
    auto c = watch.subscribe(kAlice, "1$7");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a, *again);
    EXPECT_NE(*a, *b);
    EXPECT_EQ(a->rfind("dyn-", 0), 0u);
    EXPECT_EQ(watch.size(), 3u);
    EXPECT_EQ(set_changes, 3);  // the repeated subscription changed nothing
    EXPECT_EQ(watch.containers(), (std::set<std::string>{"1$7", "64"}));
}

TEST_F(WatchTest, EventsGoToTheWatchersOfThatContainer) {
    auto a = watch.subscribe(kAlice, "64");
    auto b = watch.subscribe(kBob, "1$7");
    watch.changed("64", 18);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, kAlice);
    EXPECT_EQ(sent[0].node, *a);
    EXPECT_EQ(sent[0].container, "64");
    EXPECT_EQ(sent[0].update_id, "18");
    watch.changed("99", 3);  // nobody watches it
    EXPECT_EQ(sent.size(), 1u);
}

TEST_F(WatchTest, SomethingChangedReachesEveryNode) {
    watch.subscribe(kAlice, "64");
    watch.subscribe(kBob, "1$7");
    watch.changed("*", 5);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].update_id, "5");
    EXPECT_EQ(sent[1].update_id, "5");
}

TEST_F(WatchTest, AtMostOneEventPer200msAndTheLatestWins) {
    watch.subscribe(kAlice, "64");
    watch.changed("64", 1);
    watch.changed("64", 2);
    watch.changed("64", 3);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].update_id, "1");
    auto start = std::chrono::steady_clock::now();
    io.run_for(std::chrono::milliseconds(600));
    ASSERT_EQ(sent.size(), 2u);  // 2 was replaced by 3 while waiting
    EXPECT_EQ(sent[1].update_id, "3");
    EXPECT_GE(std::chrono::steady_clock::now() - start, DirectoryWatch::kMinInterval - std::chrono::milliseconds(1));
}

TEST_F(WatchTest, UnsubscribeOnlyByItsController) {
    auto a = watch.subscribe(kAlice, "64");
    EXPECT_FALSE(watch.unsubscribe(kBob, *a));
    EXPECT_FALSE(watch.unsubscribe(kAlice, "dyn-nope"));
    EXPECT_TRUE(watch.unsubscribe(kAlice, *a));
    EXPECT_TRUE(watch.empty());
    EXPECT_EQ(set_changes, 2);
    watch.changed("64", 9);
    EXPECT_TRUE(sent.empty());
}

TEST_F(WatchTest, PendingEventIsDroppedWithItsNode) {
    auto a = watch.subscribe(kAlice, "64");
    watch.changed("64", 1);
    watch.changed("64", 2);  // waits for the interval
    watch.unsubscribe(kAlice, *a);
    io.run_for(std::chrono::milliseconds(400));
    EXPECT_EQ(sent.size(), 1u);
}

TEST_F(WatchTest, OfflineControllerLosesItsNodes) {
    watch.subscribe(kAlice, "64");
    watch.subscribe(kAlice, "1$7");
    watch.subscribe(kBob, "64");
    set_changes = 0;
    watch.drop_controller(kAlice);
    EXPECT_EQ(watch.size(), 1u);
    EXPECT_EQ(set_changes, 1);
    EXPECT_EQ(watch.containers(), (std::set<std::string>{"64"}));
    watch.drop_controller("stranger@example.org/x");
    EXPECT_EQ(set_changes, 1);
}

TEST_F(WatchTest, NodeLimit) {
    for (std::size_t i = 0; i < DirectoryWatch::kMaxNodes; ++i) ASSERT_TRUE(watch.subscribe(kAlice, std::to_string(i)));
    EXPECT_FALSE(watch.subscribe(kAlice, "one-too-many"));
    EXPECT_TRUE(watch.subscribe(kAlice, "7"));  // an existing one is still found
}

}  // namespace

namespace {

TEST_F(WatchTest, SendingMayEndNodes) {
    // A send that fails can make the session report the controller offline at once.
    watch.set_sender([this](xml::Element m) {
        sent.push_back({m.attr_or("to"), "", "", ""});
        watch.drop_controller(m.attr_or("to"));
    });
    watch.subscribe(kAlice, "64");
    watch.subscribe(kAlice, "1$7");
    watch.subscribe(kBob, "64");
    watch.changed("*", 3);
    EXPECT_EQ(sent.size(), 2u);  // Alice's second node was gone before its turn
    EXPECT_TRUE(watch.empty());
}

}  // namespace
