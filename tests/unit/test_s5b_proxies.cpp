// Proxy discovery for S5B over the in-memory server (and the local
// addresses for direct candidates): the server lists its
// items, one is a XEP-0065 proxy, one is not, one never answers; the result
// is kept, and a server without disco or one that does not answer leaves us
// with no proxies within the bound.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>

#include "jingle_test_server.hpp"
#include "xmpp/core/disco_info.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/jingle/s5b_addresses.hpp"
#include "xmpp/jingle/s5b_proxies.hpp"

using namespace xpmn;
using namespace xpmn::jingle;

namespace {

constexpr const char* kMe = "home@example.org/phone";

struct S5bProxiesTest : ::testing::Test {
    boost::asio::io_context io;
    jingletest::MemoryServer server{io};
    client::StanzaRouter& me = server.connect(kMe);
    client::StanzaRouter& domain = server.connect("example.org");
    client::StanzaRouter& proxy = server.connect("proxy.example.org");
    client::StanzaRouter& pubsub = server.connect("pubsub.example.org");
    client::StanzaRouter& silent = server.connect("silent.example.org");
    std::vector<client::IqResponder> never_answered;
    int bytestream_queries = 0;

    S5bProxiesTest() {
        domain.on_iq("get", ns::disco_items, "query", [](const client::Peer&, const xml::Element&, client::IqResponder r) {
            xml::Element q("query", ns::disco_items);
            for (auto* j : {"pubsub.example.org", "silent.example.org", "proxy.example.org", "not a jid@@"})
                q.add("item", ns::disco_items).set_attr("jid", j);
            r.result(std::move(q));
        });
        identity(proxy, "proxy", "bytestreams");
        identity(pubsub, "pubsub", "service");
        silent.on_iq("get", ns::disco_info, "query",
                     [this](const client::Peer&, const xml::Element&, client::IqResponder r) {
                         never_answered.push_back(std::move(r));
                     });
        streamhost("7777");
    }
    // The proxy's answer to the bytestreams query: its streamhost on 127.0.0.1.
    void streamhost(std::string port) {
        proxy.on_iq("get", kBytestreamsNs, "query",
                    [this, port](const client::Peer&, const xml::Element&, client::IqResponder r) {
                        ++bytestream_queries;
                        xml::Element q("query", kBytestreamsNs);
                        auto& sh = q.add("streamhost", kBytestreamsNs);
                        sh.set_attr("jid", "proxy.example.org");
                        sh.set_attr("host", "127.0.0.1");
                        sh.set_attr("port", port);
                        r.result(std::move(q));
                    });
    }
    static void identity(client::StanzaRouter& r, std::string category, std::string type) {
        disco::Info info;
        info.identities.push_back({category, type, "", ""});
        r.on_iq("get", ns::disco_info, "query", [info](const client::Peer&, const xml::Element&, client::IqResponder resp) {
            resp.result(disco::to_element(info));
        });
    }
    std::optional<std::vector<S5bStreamhost>> get(S5bProxies& p) {
        std::optional<std::vector<S5bStreamhost>> out;
        p.get([&](const std::vector<S5bStreamhost>& found) { out = found; });
        io.restart();
        while (!out && io.run_one() > 0) {
        }
        return out;
    }
};

TEST_F(S5bProxiesTest, FindsTheProxyWithinTheBoundAndKeepsIt) {
    // The silent item holds the round until the bound.
    auto p = S5bProxies::create(io, me, "example.org", std::chrono::milliseconds(100));
    auto found = get(*p);
    ASSERT_TRUE(found);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(found->at(0).jid, "proxy.example.org");
    EXPECT_EQ(found->at(0).host, "127.0.0.1");
    EXPECT_EQ(found->at(0).port, 7777);
    auto routed = server.routed;
    auto again = get(*p);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->size(), 1u);
    EXPECT_EQ(server.routed, routed);  // kept: nothing asked again
    EXPECT_EQ(bytestream_queries, 1);
}

TEST_F(S5bProxiesTest, ConcurrentCallersShareOneDiscovery) {
    auto p = S5bProxies::create(io, me, "example.org", std::chrono::milliseconds(100));
    int calls = 0;
    p->get([&](const std::vector<S5bStreamhost>& f) { calls += f.size() == 1; });
    auto found = get(*p);
    ASSERT_TRUE(found);
    io.poll();
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(bytestream_queries, 1);
}

TEST_F(S5bProxiesTest, ServerThatDoesNotAnswerMeansNoProxies) {
    domain.on_iq("get", ns::disco_items, "query", [this](const client::Peer&, const xml::Element&, client::IqResponder r) {
        never_answered.push_back(std::move(r));
    });
    auto p = S5bProxies::create(io, me, "example.org", std::chrono::milliseconds(50));
    auto found = get(*p);
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->empty());
}

TEST_F(S5bProxiesTest, BadStreamhostIsLeftOut) {
    streamhost("99999");
    auto p = S5bProxies::create(io, me, "example.org", std::chrono::milliseconds(50));
    auto found = get(*p);
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->empty());
}

}  // namespace

// The interface restriction: naming loopback yields its address; by default it is left out.
TEST(S5bAddresses, LoopbackOnlyWhenNamed) {
    auto lo = local_addresses({"lo"});
    ASSERT_TRUE(lo);
    EXPECT_NE(std::find(lo->begin(), lo->end(), "127.0.0.1"), lo->end());
    auto all = local_addresses();
    ASSERT_TRUE(all);
    EXPECT_EQ(std::find(all->begin(), all->end(), "127.0.0.1"), all->end());
    auto none = local_addresses({"no-such-interface0"});
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}
