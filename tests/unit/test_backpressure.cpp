// Output back-pressure and connection teardown, found by a hostile server:
// a peer that sends requests but never reads the answers must not grow the
// process (the XML stream stops reading it), and a dropped connection must
// really go away (abort resets at once; a graceful close has a deadline).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "tests/unit/tls_test_pair.hpp"
#include "xmpp/net/tcp_stream.hpp"

using namespace xpmn;
using test_tls::message;
using test_tls::pattern;
using test_tls::TlsPair;
using test_tls::XmlEnd;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

xml::Element ping(int i) {
    xml::Element iq("iq", ns::client);
    iq.set_attr("type", "get");
    iq.set_attr("id", "p" + std::to_string(i));
    iq.add("ping", "urn:xmpp:ping");
    return iq;
}

}  // namespace

TEST(Backpressure, APeerThatDoesNotReadIsNotReadEither) {
    TlsPair p({.max_in_flight = 64 * 1024});
    XmlEnd bridge, server;
    p.open_xml(bridge, server);
    ASSERT_EQ(p.client.handshake_error, "");
    std::size_t most_queued = 0;
    bridge.on_element = [&](const xml::Element& request) {
        xml::Element result("iq", ns::client);
        result.set_attr("type", "result");
        result.set_attr("id", request.attr_or("id"));
        result.add("padding", "urn:test").add_text(pattern(300));
        bridge.xml->send(result);
        most_queued = std::max(most_queued, bridge.xml->transport().write_backlog());
    };
    p.run();
    // The server stops reading and sends 20 000 requests (7 MB of answers).
    p.server.tls->pause_reading();
    const int requests = 20000;
    for (int i = 0; i < requests; ++i) server.xml->send(ping(i));
    p.run();
    EXPECT_TRUE(bridge.xml->reading_paused());
    EXPECT_LT(bridge.got.size(), static_cast<std::size_t>(requests) / 4);
    const std::size_t bound = stream::XmlStream::kDefaultMaxWriteBacklog + 128 * 1024;
    EXPECT_LT(most_queued, bound) << "answers queued without limit";
    EXPECT_LT(p.client_wire->write_backlog(), bound);

    // When the server reads again, everything is answered, nothing lost.
    p.server.tls->resume_reading();
    p.run();
    EXPECT_FALSE(bridge.xml->reading_paused());
    EXPECT_EQ(bridge.got.size(), static_cast<std::size_t>(requests));
    ASSERT_EQ(server.got.size(), static_cast<std::size_t>(requests));
    EXPECT_EQ(server.got.back().attr_or("id"), "p" + std::to_string(requests - 1));
    EXPECT_LT(most_queued, bound);
    EXPECT_EQ(p.client.tls->write_backlog(), 0u);
}

namespace {

// A loopback TCP connection: our TcpStream on one side, a plain socket that
// the test reads (or not) on the other.
struct TcpPair {
    asio::io_context io;
    std::shared_ptr<net::TcpStream> stream;
    tcp::socket peer{io};

    TcpPair() {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        tcp::socket ours(io);
        ours.connect(acceptor.local_endpoint());
        acceptor.accept(peer);
        // Small kernel buffers, so that a few MB fill them.
        peer.set_option(asio::socket_base::receive_buffer_size(64 * 1024));
        stream = std::make_shared<net::TcpStream>(std::move(ours));
        stream->socket().set_option(asio::socket_base::send_buffer_size(64 * 1024));
    }

    // Writes until the kernel buffers are full and bytes wait in the stream.
    void fill(stream::XmlStream& xml) {
        xml.open({{"version", "1.0"}});
        for (int i = 0; i < 400; ++i) xml.send(message(pattern(16 * 1024)));
        for (int i = 0; i < 1000; ++i) io.poll();
    }

    // Reads the peer side until the connection ends; returns the bytes read
    // and sets `end` to how it ended. Gives up (end stays empty) after
    // `guard`, so that a connection that never ends fails the test instead of
    // hanging it.
    std::size_t drain_peer(std::string& end, std::chrono::seconds guard = std::chrono::seconds(30)) {
        std::size_t total = 0;
        std::array<char, 65536> buf;
        std::function<void()> read = [&] {
            peer.async_read_some(asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t n) {
                total += n;
                if (ec) {
                    end = ec == asio::error::eof ? "eof" : ec.message();
                    return;
                }
                read();
            });
        };
        read();
        io.restart();
        io.run_for(guard);
        return total;
    }
};

}  // namespace

// "The server did not answer a ping": the session aborts the stream; the
// socket must close now, not after its unread backlog (which never leaves).
TEST(ConnectionTeardown, AbortClosesTheSocketAtOnceAndDropsTheBacklog) {
    TcpPair t;
    auto xml = std::make_shared<stream::XmlStream>(t.stream);
    xml->start();
    t.fill(*xml);
    ASSERT_GT(t.stream->write_backlog(), 0u) << "the kernel took everything; the test needs a backlog";
    xml->abort();
    EXPECT_FALSE(t.stream->socket().is_open());
    EXPECT_EQ(t.stream->write_backlog(), 0u);
    std::string end;
    t.drain_peer(end);
    EXPECT_EQ(end, "Connection reset by peer");
}

TEST(ConnectionTeardown, GracefulCloseGivesUpAfterItsDeadline) {
    TcpPair t;
    t.stream->set_close_deadline(std::chrono::milliseconds(200));
    auto xml = std::make_shared<stream::XmlStream>(t.stream);
    xml->start();
    t.fill(*xml);
    ASSERT_GT(t.stream->write_backlog(), 0u);
    xml->close();
    t.io.restart();
    t.io.run_for(std::chrono::seconds(30));  // returns as soon as nothing is pending
    EXPECT_FALSE(t.stream->socket().is_open());
    EXPECT_EQ(t.stream->write_backlog(), 0u);
}

TEST(ConnectionTeardown, GracefulCloseDeliversEverythingToAReadingPeer) {
    TcpPair t;
    auto xml = std::make_shared<stream::XmlStream>(t.stream);
    xml->start();
    t.fill(*xml);
    xml->close();
    std::string end;
    std::size_t got = t.drain_peer(end);
    EXPECT_EQ(end, "eof");
    EXPECT_EQ(got, xml->bytes_sent() + std::string("</stream:stream>").size());
}

// Pausing a TcpStream stops reading the socket (the one read already in
// flight is held back), so the peer's writes block; resuming delivers all.
TEST(Backpressure, PausedTcpStreamStopsReadingTheSocket) {
    TcpPair t;
    std::size_t received = 0;
    t.stream->set_handlers({[&](std::string_view d) { received += d.size(); }, nullptr, nullptr});
    t.stream->start();  // a read is now in flight
    t.stream->pause_reading();
    const std::string sent = pattern(8 * 1024 * 1024);
    bool peer_done = false;
    asio::async_write(t.peer, asio::buffer(sent), [&](const boost::system::error_code& ec, std::size_t) {
        EXPECT_FALSE(ec);
        peer_done = true;
    });
    for (int i = 0; i < 2000; ++i) t.io.poll();
    EXPECT_EQ(received, 0u);
    EXPECT_FALSE(peer_done) << "the kernel buffers took 8 MB";
    t.stream->resume_reading();
    t.io.restart();
    while (!peer_done || received < sent.size())
        if (t.io.run_one_for(std::chrono::seconds(30)) == 0) break;
    EXPECT_TRUE(peer_done);
    EXPECT_EQ(received, sent.size());
}
