// The stanza router: handlers get the Peer the channel proved, every error it
// sends itself carries a <text/> (wire profile §8), and its timers never
// outlive it.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;

namespace {

struct RouterTest : ::testing::Test {
    RouterTest() {
        router.set_account("me@x", "x");
        router.set_sender([this](xml::Element e) { sent.push_back(std::move(e)); });
    }
    xml::Element request(const char* type, const char* ns, const char* name, const char* from = "me@x/phone") {
        auto iq = stanza::iq(type, "me@x/upnp-1", "r" + std::to_string(++ids));
        if (from) iq.set_attr("from", from);
        iq.add(name, ns);
        return iq;
    }
    boost::asio::io_context io;
    client::StanzaRouter router{io};
    std::vector<xml::Element> sent;
    int ids = 0;
};

TEST_F(RouterTest, C2sHandlersGetTheRoutedSenderAsPeer) {
    std::vector<client::Peer> peers;
    router.on_iq("get", "urn:t", "q", [&](const client::Peer& p, const xml::Element&, client::IqResponder r) {
        peers.push_back(p);
        r.result();
    });
    router.dispatch(request("get", "urn:t", "q", "Me@X/phone"));
    router.dispatch(request("get", "urn:t", "q", nullptr));  // from the account itself
    router.dispatch(request("get", "urn:t", "q", "not a jid@@"));
    ASSERT_EQ(peers.size(), 2u);
    EXPECT_EQ(peers[0].jid.str(), "me@x/phone");
    EXPECT_FALSE(peers[0].end_to_end());
    EXPECT_EQ(peers[1].jid.str(), "me@x");
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(stanza::error_condition(sent[2]), "jid-malformed");
}

TEST_F(RouterTest, AChannelsResolverDecidesThePeerNotTheFromAttribute) {
    router.set_peer_resolver([](const xml::Element&) {
        return client::Peer::end_to_end_peer(Jid::must_parse("friend@y/phone"), "ab12");
    });
    std::optional<client::Peer> got;
    router.on_iq("get", "urn:t", "q", [&](const client::Peer& p, const xml::Element&, client::IqResponder r) {
        got = p;
        r.result();
    });
    router.dispatch(request("get", "urn:t", "q", "me@x/forged"));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->jid.str(), "friend@y/phone");
    EXPECT_TRUE(got->end_to_end());
    EXPECT_EQ(got->fingerprint, "ab12");
}

TEST_F(RouterTest, EveryOwnErrorCarriesAText) {
    router.on_iq("get", ns::media_server, "browse", [](const client::Peer&, const xml::Element&, client::IqResponder r) {
        r.result();
    });
    router.on_iq("get", "urn:t", "dropped", [](const client::Peer&, const xml::Element&, client::IqResponder) {});
    router.dispatch(request("get", "urn:unknown", "q"));           // unknown namespace
    router.dispatch(request("get", ns::media_server, "teleport"));  // unknown element of a known namespace
    router.dispatch(request("set", ns::media_server, "browse"));    // wrong IQ type
    router.dispatch(request("get", "urn:t", "dropped"));            // handler dropped its responder
    auto two = request("get", "urn:t", "q");
    two.add("extra", "urn:t");
    router.dispatch(two);
    auto odd = request("get", "urn:t", "q");
    odd.set_attr("type", "fetch");
    router.dispatch(odd);
    ASSERT_EQ(sent.size(), 6u);
    for (const auto& e : sent) EXPECT_FALSE(stanza::error_text(e).empty()) << e.to_string(ns::client);
    EXPECT_EQ(stanza::error_condition(sent[0]), "service-unavailable");
    EXPECT_NE(stanza::error_text(sent[0]).find("urn:unknown"), std::string::npos);
    EXPECT_EQ(stanza::error_condition(sent[1]), "service-unavailable");
    EXPECT_NE(stanza::error_text(sent[1]).find("teleport"), std::string::npos);
    EXPECT_EQ(stanza::error_condition(sent[2]), "service-unavailable");
    EXPECT_NE(stanza::error_text(sent[2]).find("'get'"), std::string::npos);
    EXPECT_EQ(stanza::error_condition(sent[3]), "internal-server-error");
    EXPECT_EQ(stanza::error_condition(sent[4]), "bad-request");
    EXPECT_EQ(stanza::error_condition(sent[5]), "bad-request");
}

TEST(StanzaErrors, AnErrorWithoutTextGetsTheConditionsText) {
    auto e = stanza::error_element("item-not-found");
    EXPECT_FALSE(stanza::error_text(e).empty());
    EXPECT_EQ(stanza::error_text(stanza::error_element("bad-request", "why")), "why");
}

TEST_F(RouterTest, ListenersCanBeRemovedWhileRunning) {
    int a = 0, b = 0;
    client::StanzaRouter::ListenerId first = 0;
    first = router.on_presence([&](const xml::Element&) {
        ++a;
        router.remove_listener(first);
    });
    router.on_presence([&](const xml::Element&) { ++b; });
    xml::Element p("presence", ns::client);
    router.dispatch(p);
    router.dispatch(p);
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);
}

// A timeout that has fired but whose handler has not run yet cannot be
// cancelled; the router destroyed in between must not be touched by it.
TEST(StanzaRouterLifetime, ExpiredTimeoutAfterTheRouterIsGone) {
    boost::asio::io_context io;
    auto router = std::make_unique<client::StanzaRouter>(io);
    router->set_sender([](xml::Element) {});
    bool called = false;
    // Expired before the request's timeout: both handlers are ready in the
    // same turn of the loop, this one first.
    boost::asio::steady_timer killer(io, std::chrono::steady_clock::now() - std::chrono::seconds(1));
    killer.async_wait([&](const boost::system::error_code&) { router.reset(); });
    auto iq = stanza::iq("get", "peer@x/r");
    iq.add("q", "urn:t");
    router->send_iq(iq, std::chrono::milliseconds(0), [&](const client::IqResponse&) { called = true; });
    io.run();
    EXPECT_FALSE(router);
    EXPECT_FALSE(called);  // a destroyed router calls nobody back
}

}  // namespace
