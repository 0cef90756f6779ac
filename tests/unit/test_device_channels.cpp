// A device is installed on every channel it has (c2s today, one per
// end-to-end stream next): disco, profile handlers that get the channel's
// Peer (never the stanza's `from`), and watches that end with their channel.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "bridge/access_policy.hpp"
#include "bridge/device.hpp"
#include "bridge/profiles/directory_profile.hpp"
#include "fake_channel.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using fakes::c2s_peer;
using fakes::FakeChannel;

namespace {

// Answers every browse with an empty container and remembers what is watched.
struct StubDirectory : profiles::MediaDirectory {
    void browse(const profiles::BrowseRequest& r, profiles::DirectoryCallback done) override {
        ++browses;
        xml::Element c("container", profiles::ns_metadata);
        c.set_attr("id", r.id);
        done(std::move(c));
    }
    void search(const profiles::SearchRequest&, profiles::DirectoryCallback done) override {
        done(profiles::DirectoryError{"item-not-found", "nothing here"});
    }
    void watch(const std::set<std::string>& containers, ChangeListener l) override {
        watched = containers;
        listener = std::move(l);
    }
    std::set<std::string> watched;
    ChangeListener listener;
    int browses = 0;
};

class DeviceChannels : public ::testing::Test {
protected:
    DeviceChannels() {
        profiles::install_directory_profile(io, *device, directory, access);
    }
    static xml::Element request(const char* type, const char* ns, const char* name, const char* from,
                                bool subscribe = false) {
        static int n = 0;
        auto iq = stanza::iq(type, "home@example.org/upnp-1", "q" + std::to_string(++n));
        iq.set_attr("from", from);
        auto& payload = iq.add(name, ns);
        if (std::string_view(name) == "browse") payload.set_attr("id", "64");
        if (subscribe) payload.set_attr("subscribe", "true");
        return iq;
    }
    static xml::Element browse(const char* from, bool subscribe) {
        return request("get", ns::media_server, "browse", from, subscribe);
    }

    boost::asio::io_context io;
    std::shared_ptr<StubDirectory> directory = std::make_shared<StubDirectory>();
    // Relaxed: same-account peers over c2s are served, others are forbidden.
    std::shared_ptr<const bridge::AccessPolicy> access =
        std::make_shared<bridge::AccessPolicy>(false, "home@example.org");
    std::shared_ptr<bridge::Device> device = std::make_shared<bridge::Device>(
        "upnp-1", disco::Identity{"automation", "media-server", "", "NAS"});
    client::Peer friend_peer = client::Peer::end_to_end_peer(Jid::must_parse("friend@elsewhere.org/tab"), "f00d");
    // The device's c2s channel and an end-to-end stream to a friend.
    std::shared_ptr<FakeChannel> c2s = FakeChannel::create(io, std::nullopt);
    std::shared_ptr<FakeChannel> e2e = FakeChannel::create(io, friend_peer);
};

TEST_F(DeviceChannels, EveryChannelGetsDiscoAndHandlers) {
    device->add_channel(c2s);
    device->add_channel(e2e);
    EXPECT_EQ(device->channel_count(), 2u);
    for (const auto& ch : std::vector<std::shared_ptr<FakeChannel>>{c2s, e2e}) {
        ch->deliver(request("get", ns::disco_info, "query", "home@example.org/phone"));
        ASSERT_EQ(ch->sent.size(), 1u);
        EXPECT_EQ(ch->sent[0].attr_or("type"), "result");
        EXPECT_TRUE(ch->sent[0].child("query", ns::disco_info));
    }
}

TEST_F(DeviceChannels, HandlersDecideFromTheChannelsPeerNotFrom) {
    device->add_channel(c2s);
    device->add_channel(e2e);
    // Over c2s the server-routed sender counts: another account is forbidden.
    c2s->deliver(browse("friend@elsewhere.org/tab", false));
    ASSERT_EQ(c2s->sent.size(), 1u);
    EXPECT_EQ(stanza::error_condition(c2s->sent[0]), "forbidden");
    // On the end-to-end channel the proven peer counts, whatever `from` claims.
    e2e->deliver(browse("home@example.org/forged", false));
    ASSERT_EQ(e2e->sent.size(), 1u);
    EXPECT_EQ(e2e->sent[0].attr_or("type"), "result");
}

TEST_F(DeviceChannels, WatchesEndWithTheirChannel) {
    device->add_channel(c2s);
    device->add_channel(e2e);
    c2s->deliver(browse("home@example.org/phone", true));
    e2e->deliver(browse("ignored@x/y", true));
    ASSERT_EQ(e2e->sent.size(), 1u);
    EXPECT_TRUE(e2e->sent[0].first_element()->attr("node"));
    EXPECT_EQ(directory->watched, (std::set<std::string>{"64"}));

    directory->listener("64", 7);
    ASSERT_EQ(e2e->sent.size(), 2u);  // the event went to the friend on its stream
    EXPECT_EQ(e2e->sent[1].name(), "message");
    EXPECT_EQ(e2e->sent[1].attr_or("to"), "friend@elsewhere.org/tab");
    EXPECT_EQ(c2s->sent.size(), 2u);

    c2s->close();  // the c2s watch ends; the stream's stays
    EXPECT_EQ(device->channel_count(), 1u);
    EXPECT_EQ(directory->watched, (std::set<std::string>{"64"}));
    e2e->close();
    EXPECT_TRUE(directory->watched.empty());
    EXPECT_EQ(device->channel_count(), 0u);
}

TEST_F(DeviceChannels, AClosedChannelServesNothingMore) {
    device->add_channel(e2e);
    e2e->close();
    e2e->deliver(browse("x@y/z", false));  // a request still in flight on a closed stream
    EXPECT_EQ(directory->browses, 0);     // is not served
    EXPECT_TRUE(e2e->sent.empty());       // and the closed channel sends nothing
}

}  // namespace
