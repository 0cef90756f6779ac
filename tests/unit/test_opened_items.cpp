// OpenedItems: the status of an item the profile opened carries the metadata
// the open request knew (the media server's title), not the player's own
// guess from the URL; other items pass through as the player reports them.
#include <gtest/gtest.h>

#include "bridge/profiles/opened_items.hpp"
#include "fake_media_player.hpp"
#include "xmpp/core/namespaces.hpp"

using namespace xpmn;

namespace {

xml::Element item(const std::string& title, const std::string& uri) {
    xml::Element i("item", ns::media_metadata);
    i.add_text_child("title", title);
    if (!uri.empty()) i.add_text_child("uri", uri);
    return i;
}

struct OpenedItemsTest : ::testing::Test {
    boost::asio::io_context io;
    std::shared_ptr<fakes::FakeMediaPlayer> fake = std::make_shared<fakes::FakeMediaPlayer>(io);
    profiles::OpenedItems player{fake};

    std::string title_in_status() {
        std::string title = "(none)";
        player.status([&](Result<profiles::PlayerStatus> s) {
            ASSERT_TRUE(s);
            if (s->item) title = s->item->child("title", ns::media_metadata)->text();
        });
        io.run();
        io.restart();
        return title;
    }
};

TEST_F(OpenedItemsTest, TheOpenedItemsMetadataReplacesThePlayersGuess) {
    std::vector<profiles::PlayableItem> list{{"http://nas/1.wav", item("Long Tone", "")},
                                             {"http://nas/2.wav", item("Second Tone", "")}};
    bool opened = false;
    player.open(list, [&](Result<void> r) { opened = bool(r); });
    io.run();
    io.restart();
    ASSERT_TRUE(opened);
    fake->status_.item = item("1.wav", "http://nas/1.wav");
    EXPECT_EQ(title_in_status(), "Long Tone");
    fake->status_.item = item("2.wav", "http://nas/2.wav");
    EXPECT_EQ(title_in_status(), "Second Tone");
    // Something the profile did not open (another control point's choice): as the player says.
    fake->status_.item = item("other.ogg", "http://elsewhere/other.ogg");
    EXPECT_EQ(title_in_status(), "other.ogg");
    fake->status_.item.reset();
    EXPECT_EQ(title_in_status(), "(none)");
}

// An item opened without metadata is still known: its status shows the URI
// the controller gave, never the (LAN) URL the player was handed.
TEST_F(OpenedItemsTest, AnItemWithoutMetadataShowsTheControllersUriNotTheLanUrl) {
    profiles::PlayableItem lan{"http://192.168.1.5:8200/MediaItems/7.wav", std::nullopt,
                               "xmpp:home@example.org/upnp-1?transfer;uid=7"};
    player.open({lan}, [](Result<void>) {});
    io.run();
    io.restart();
    fake->status_.item = item("7.wav", lan.url);
    std::string uri;
    player.status([&](Result<profiles::PlayerStatus> s) {
        ASSERT_TRUE(s && s->item);
        uri = s->item->child("uri", ns::media_metadata)->text();
        EXPECT_EQ(s->item->child("title", ns::media_metadata), nullptr);
    });
    io.run();
    EXPECT_EQ(uri, lan.source);
}

TEST_F(OpenedItemsTest, AFailedOpenKeepsWhatWasKnown) {
    player.open({{"http://nas/1.wav", item("Long Tone", "")}}, [](Result<void>) {});
    io.run();
    io.restart();
    fake->fail_next = Error{"remote-server-timeout", "no answer"};
    player.open({{"http://nas/1.wav", item("Changed", "")}}, [](Result<void>) {});
    io.run();
    io.restart();
    fake->status_.item = item("1.wav", "http://nas/1.wav");
    EXPECT_EQ(title_in_status(), "Long Tone");
}

}  // namespace
