// TlsStream over the in-memory pair: handshake, data both ways, the
// ByteStream contract through TLS (pause reaches the layer below, drain comes
// from it), close_notify and resets.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "tests/unit/tls_test_pair.hpp"

using namespace xpmn;

using test_tls::pattern;
using test_tls::TlsPair;
using test_tls::Side;

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

// Prosody 0.12's proxy65 keeps up to 8 KiB of a burst until more arrives:
// push_through() sends a padded TLS 1.3 KeyUpdate behind the data, so what
// the relay holds is padding, and the peer reads every data byte.
TEST(TlsStream, PushThroughGetsTheTailPastARelayThatHoldsIt) {
    TlsPair p;
    p.run();
    ASSERT_EQ(p.server.tls->protocol_version(), "TLSv1.3");
    p.server_tap->hold_tail = 8191;
    std::string data = pattern(100 * 1024);
    p.server.tls->write(data);
    p.run();
    EXPECT_LT(p.client.data.size(), data.size());  // the tail is held
    p.server.tls->push_through();
    p.run();
    EXPECT_EQ(p.client.data, data);
    // The keys changed: later data still reads, and so do data and padding after it.
    p.server.tls->write("more");
    p.server.tls->push_through();
    p.run();
    EXPECT_EQ(p.client.data, data + "more");
    p.client.tls->write("answer");  // the other way is untouched
    p.run();
    EXPECT_EQ(p.server.data, "answer");
    EXPECT_TRUE(p.client.closed.empty());
    EXPECT_TRUE(p.server.closed.empty());
}

TEST(TlsStream, PushThroughWritesNothingWithoutARelay) {
    TlsPair p;
    p.run();
    p.server.tls->write("data");
    p.run();
    auto writes = p.server_tap->writes;
    p.server.tls->push_through();
    p.run();
    EXPECT_EQ(p.server_tap->writes, writes);
    EXPECT_EQ(p.client.data, "data");
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
