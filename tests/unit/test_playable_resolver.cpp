// What a player's `open` may play (wire profile §7.1, issue 10 item 4): a
// transfer URI of this bridge's media server becomes the NAS's LAN URL
// (friends need a read grant covering the item), other devices' xmpp URIs
// are fetched by the bridge for its owners' local players only (friends:
// forbidden; renderers: not yet supported; without RemoteItems: not
// supported), http(s) is refused unless allowed, and file: and any other
// scheme are bad requests.
#include <gtest/gtest.h>

#include "bridge/profiles/directory_profile.hpp"
#include "bridge/profiles/playable_resolver.hpp"
#include "bridge/profiles/remote_items.hpp"
#include "bridge/profiles/transfer_profile.hpp"
#include "security_test_stores.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using security::Permission;

namespace {

struct LanTransfers : profiles::MediaTransfers {
    std::optional<std::string> object_of(const std::string& uid) const override {
        if (uid == "gone") return std::nullopt;
        return uid;
    }
    void open(const profiles::TransferRequest&, profiles::OpenCallback done) override {
        done(Error{"feature-not-implemented", "not in this test"});
    }
    std::optional<std::string> lan_url(const std::string& uid) const override {
        return "http://192.168.1.5:8200/MediaItems/" + uid + ".wav";
    }
};

// Object 64$3$2 lies in 64$3, in 64, in 0.
struct Tree : profiles::MediaDirectory {
    void browse(const profiles::BrowseRequest&, profiles::DirectoryCallback) override {}
    void search(const profiles::SearchRequest&, profiles::DirectoryCallback) override {}
    void watch(const std::set<std::string>&, ChangeListener) override {}
    void parent_of(const std::string& id, std::function<void(Result<std::string>)> done) override {
        auto cut = id.rfind('$');
        done(cut == std::string::npos ? std::string("0") : id.substr(0, cut));
    }
    void item_of(const std::string& id, profiles::DirectoryCallback done) override {
        ++item_of_calls;
        if (id == "no-meta") return done(Error{"item-not-found", "no such item"});
        xml::Element item("item", ns::media_metadata);
        item.set_attr("id", id);
        item.add_text_child("title", "Track " + id, ns::media_metadata);
        done(item);
    }
    int item_of_calls = 0;
};

struct Resolver : test_security::Stores {
    std::shared_ptr<LanTransfers> transfers = std::make_shared<LanTransfers>();
    std::shared_ptr<Tree> tree = std::make_shared<Tree>();
    std::shared_ptr<profiles::MediaSources> sources = std::make_shared<profiles::MediaSources>();
    std::shared_ptr<bridge::AccessPolicy> access;
    client::Peer owner = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/phone"), test_security::kOwnerFp);
    client::Peer friend_ = client::Peer::end_to_end_peer(Jid::must_parse("juliet@capulet.lit/tab"), test_security::kFriendFp);

    void SetUp() override {
        Stores::SetUp();
        access = std::make_shared<bridge::AccessPolicy>(true, "home@example.org", trust, grants);
        sources->add("upnp-3fa2c1d0", {transfers, tree});
    }
    std::shared_ptr<profiles::RemoteItems> remote;  // made by the tests that need it
    std::optional<profiles::LanAddresses> fetches_from;  // a renderer's addresses

    Result<profiles::PlayableItem> resolve(const std::string& uri, const client::Peer& peer, bool allow_http = false,
                                           bool want_metadata = true) {
        profiles::BridgePlayables r(config::PlayersSection{allow_http}, access, sources, remote);
        std::optional<Result<profiles::PlayableItem>> out;
        r.resolve({uri, "mpris-vlc", peer, fetches_from, want_metadata},
                  [&](Result<profiles::PlayableItem> item) { out = std::move(item); });
        EXPECT_TRUE(out);
        return out ? *out : Result<profiles::PlayableItem>(Error{"none", "no answer"});
    }
    std::string condition(const std::string& uri, const client::Peer& peer, bool allow_http = false) {
        auto r = resolve(uri, peer, allow_http);
        if (r) return "ok";
        EXPECT_FALSE(r.error().text.empty());
        return r.error().condition;
    }
};

const std::string kTrack = "xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=64%243%242";

TEST_F(Resolver, ATransferUriOfThisBridgeBecomesTheNasUrl) {
    auto item = resolve(kTrack, owner);
    ASSERT_TRUE(item) << item.error().describe();
    EXPECT_EQ(item->url, "http://192.168.1.5:8200/MediaItems/64$3$2.wav");
    ASSERT_TRUE(item->metadata);
    EXPECT_EQ(item->metadata->child_text("title", ns::media_metadata), "Track 64$3$2");
    // Without metadata from the server the item still plays.
    auto bare = resolve("xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=no-meta", owner);
    ASSERT_TRUE(bare);
    EXPECT_FALSE(bare->metadata);
}

TEST_F(Resolver, MetadataIsFetchedOnlyWhenWanted) {
    tree->item_of_calls = 0;
    auto item = resolve(kTrack, owner, false, false);
    ASSERT_TRUE(item) << item.error().describe();
    EXPECT_FALSE(item->metadata);
    EXPECT_EQ(tree->item_of_calls, 0);
}

TEST_F(Resolver, UnknownServersAndUidsAreItemNotFound) {
    EXPECT_EQ(condition("xmpp:home@example.org/upnp-00000000?transfer;uid=1", owner), "item-not-found");
    EXPECT_EQ(condition("xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=gone", owner), "item-not-found");
    sources->remove("upnp-3fa2c1d0");
    EXPECT_EQ(condition(kTrack, owner), "item-not-found");
}

TEST_F(Resolver, OtherDevicesAreNotYetSupported) {
    auto r = resolve("xmpp:romeo@montague.lit/upnp-3fa2c1d0?transfer;uid=1", owner);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().condition, "item-not-found");
    EXPECT_NE(r.error().text.find("not yet supported"), std::string::npos) << r.error().text;
}

// A bridge that fetches other accounts' items does it for its owners only,
// local players and renderers alike (the owners' case needs the other
// bridge: tests/integration/test_remote_open.py).
TEST_F(Resolver, OtherAccountsItemsAreForOwnersOnly) {
    boost::asio::io_context io;
    // The bridge's controller session runs on `io`: gone before it, whatever the test's end.
    struct DropRemote {
        std::shared_ptr<profiles::RemoteItems>& remote;
        ~DropRemote() { remote.reset(); }
    } drop_remote{remote};
    config::Config cfg;
    cfg.xmpp.jid = Jid::must_parse("home@example.org");
    remote = profiles::RemoteItems::create({io, cfg, xtls::load_or_create(dir, cfg.xmpp.jid), trust});
    const std::string other = "xmpp:romeo@montague.lit/upnp-3fa2c1d0?transfer;uid=1";
    EXPECT_EQ(condition(other, friend_), "forbidden");  // this bridge's trust elsewhere is not lent to friends
    fetches_from = profiles::LanAddresses{"192.168.1.9", "192.168.1.2"};
    EXPECT_EQ(condition(other, friend_), "forbidden");
    EXPECT_EQ(remote->served(), 0u);
}

TEST_F(Resolver, MalformedXmppUrisAreBadRequests) {
    EXPECT_EQ(condition("xmpp:home@example.org/upnp-3fa2c1d0", owner), "bad-request");
    EXPECT_EQ(condition("xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=%zz", owner), "bad-request");
    EXPECT_EQ(condition("xmpp:home@example.org?transfer;uid=1", owner), "bad-request");
}

TEST_F(Resolver, HttpIsRefusedUnlessAllowed) {
    EXPECT_EQ(condition("http://192.168.1.1/admin", owner), "forbidden");
    EXPECT_EQ(condition("HTTPS://example.org/a.ogg", owner), "forbidden");
    auto item = resolve("http://radio.example/stream", owner, true);
    ASSERT_TRUE(item);
    EXPECT_EQ(item->url, "http://radio.example/stream");
}

TEST_F(Resolver, FileAndOtherSchemesAreBadRequests) {
    for (const char* uri : {"file:///etc/passwd", "FILE:/x", "smb://nas/share/a.wav", "rtsp://cam/1", "/etc/passwd",
                            "a.wav", ":x", "1http://x"})
        EXPECT_EQ(condition(uri, owner, true), "bad-request") << uri;
}

TEST_F(Resolver, FriendsNeedAReadGrantCoveringTheItem) {
    EXPECT_EQ(condition(kTrack, friend_), "forbidden");
    auto give = [&](std::string container) {
        ASSERT_TRUE(grants->grant({{Jid::must_parse("juliet@capulet.lit"), Jid::must_parse("home@example.org/upnp-3fa2c1d0"),
                                    Permission::Read, std::move(container), std::nullopt}}));
    };
    give("1$7");  // another subtree
    EXPECT_EQ(condition(kTrack, friend_), "forbidden");
    give("64$3");
    EXPECT_EQ(condition(kTrack, friend_), "ok");
}

TEST(UriScheme, LowercasedOrNone) {
    EXPECT_EQ(profiles::uri_scheme("HTTP://x"), "http");
    EXPECT_EQ(profiles::uri_scheme("xmpp:a@b"), "xmpp");
    EXPECT_EQ(profiles::uri_scheme("no scheme"), std::nullopt);
    EXPECT_EQ(profiles::uri_scheme("a b:c"), std::nullopt);
}

}  // namespace
