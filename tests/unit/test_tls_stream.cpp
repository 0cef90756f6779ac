// TlsStream over the in-memory pair: handshake, data both ways, the
// ByteStream contract through TLS (pause reaches the layer below, drain comes
// from it), close_notify and resets.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "tests/unit/tls_test_certs.hpp"
#include "xmpp/net/memory_pair.hpp"

using namespace xpmn;

namespace {

struct Side {
    std::shared_ptr<tls::TlsStream> tls;
    std::string handshake_error = "(pending)";
    std::string data;
    std::vector<std::string> closed;
    int drained = 0;

    void begin() {
        tls->set_handlers({[this](std::string_view d) { data += d; },
                           [this](const std::string& r) { closed.push_back(r); },
                           [this] { ++drained; }});
        tls->handshake([this](const std::string& e) {
            handshake_error = e;
            if (e.empty()) tls->start();
        });
    }
};

struct TlsPair {
    boost::asio::io_context io;
    std::shared_ptr<net::MemoryStream> client_wire, server_wire;
    test_tls::SelfSigned id = test_tls::make_self_signed("test.example");
    Side client, server;

    explicit TlsPair(net::MemoryPairOptions options = {}) {
        std::tie(client_wire, server_wire) = net::make_memory_pair(io, options);
        client.tls = test_tls::make_pinned_client(client_wire, id);
        server.tls = test_tls::make_test_server(server_wire, id);
        client.begin();
        server.begin();
    }
    void run() {
        io.restart();
        io.run();
    }
};

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + i % 47);
    return s;
}

}  // namespace

TEST(TlsStream, HandshakeAndDataBothWaysOverTheMemoryPair) {
    TlsPair p;
    p.client.tls->write("written before the handshake");
    p.run();
    ASSERT_EQ(p.client.handshake_error, "");
    ASSERT_EQ(p.server.handshake_error, "");
    EXPECT_EQ(p.server.data, "written before the handshake");
    std::string big = pattern(300 * 1024);
    p.server.tls->write(big);
    p.client.tls->write("ping");
    p.run();
    EXPECT_EQ(p.client.data, big);
    EXPECT_EQ(p.server.data, "written before the handshakeping");
    EXPECT_EQ(p.server.tls->write_backlog(), 0u);
    EXPECT_GE(p.server.drained, 1);
}

TEST(TlsStream, WrongPinFailsTheHandshake) {
    TlsPair p;
    auto other = test_tls::make_self_signed("other.example");
    auto [cw, sw] = net::make_memory_pair(p.io);
    Side client, server;
    client.tls = test_tls::make_pinned_client(cw, other);
    server.tls = test_tls::make_test_server(sw, p.id);
    client.begin();
    server.begin();
    p.run();
    EXPECT_NE(client.handshake_error.find("does not match the pinned"), std::string::npos) << client.handshake_error;
    EXPECT_NE(server.handshake_error, "");
}

TEST(TlsStream, CloseSendsPendingDataThenCloseNotify) {
    TlsPair p;
    p.run();
    p.client.tls->write("last words");
    p.client.tls->close();
    p.run();
    EXPECT_EQ(p.server.data, "last words");
    ASSERT_EQ(p.server.closed.size(), 1u);
    EXPECT_EQ(p.server.closed[0], "");  // close_notify: a clean end
    EXPECT_TRUE(p.client.closed.empty());
}

TEST(TlsStream, AbortResetsTheLowerStream) {
    TlsPair p;
    p.run();
    p.client.tls->write("never sent");
    p.client.tls->abort();
    p.run();
    EXPECT_EQ(p.server.data, "");
    ASSERT_EQ(p.server.closed.size(), 1u);
    EXPECT_EQ(p.server.closed[0], "connection reset by peer");
}

TEST(TlsStream, PausedReaderPausesTheLowerStreamAndLosesNothing) {
    TlsPair p({.max_in_flight = 32 * 1024});
    p.run();
    p.client.drained = 0;  // the handshake's own flights
    p.server.tls->pause_reading();
    std::string big = pattern(4 * 1024 * 1024);
    p.client.tls->write(big);
    p.run();
    EXPECT_EQ(p.server.data, "");
    // TLS held a bounded amount, the wire is full, the rest waits in the
    // writer's backlog.
    EXPECT_EQ(p.client_wire->in_flight(), 32u * 1024);
    EXPECT_GT(p.client.tls->write_backlog(), big.size() / 2);
    EXPECT_EQ(p.client.drained, 0);

    p.server.tls->resume_reading();
    p.run();
    EXPECT_EQ(p.server.data.size(), big.size());
    EXPECT_TRUE(p.server.data == big);
    EXPECT_EQ(p.client.tls->write_backlog(), 0u);
    EXPECT_EQ(p.client.drained, 1);
}

TEST(TlsStream, EndAfterPausedDataComesAfterTheData) {
    TlsPair p;
    p.run();
    p.server.tls->pause_reading();
    p.client.tls->write("before the end");
    p.client.tls->close();
    p.run();
    EXPECT_EQ(p.server.data, "");
    EXPECT_TRUE(p.server.closed.empty());
    p.server.tls->resume_reading();
    p.run();
    EXPECT_EQ(p.server.data, "before the end");
    ASSERT_EQ(p.server.closed.size(), 1u);
    EXPECT_EQ(p.server.closed[0], "");
}
