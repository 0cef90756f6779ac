// What one turn of the event loop writes leaves as one TLS record and one
// write below: a result, the XEP-0198 <a/> and the <r/> the session posts
// after it must not be three small records (three segments), which with the
// peer's Nagle and delayed ACKs cost ~40 ms per exchange.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <functional>
#include <vector>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tests/unit/tls_test_pair.hpp"
#include "xmpp/net/tcp_stream.hpp"

using namespace xpmn;
using test_tls::TlsPair;
using test_tls::XmlEnd;
namespace asio = boost::asio;

TEST(WriteCoalescing, AnAnswerAndItsAcksLeaveAsOneRecordAndOneWrite) {
    TlsPair p;
    XmlEnd bridge, server;
    p.open_xml(bridge, server);
    ASSERT_EQ(p.client.handshake_error, "");
    const std::size_t writes_before = p.client_tap->writes;
    const std::size_t records_before = p.client_tap->records();

    // One handler run, as when a request arrives: the result and <a/>, and
    // the <r/> the session posts to go after the burst.
    asio::post(p.io, [&] {
        xml::Element result("iq", ns::client);
        result.set_attr("type", "result");
        result.set_attr("id", "ping-1");
        bridge.xml->send(result);
        xml::Element a("a", ns::sm);
        a.set_attr("h", "7");
        bridge.xml->send(a);
        asio::post(p.io, [&] { bridge.xml->send(xml::Element("r", ns::sm)); });
    });
    p.run();
    ASSERT_EQ(server.got.size(), 3u);
    EXPECT_EQ(server.got[2].name(), "r");
    EXPECT_EQ(p.client_tap->writes - writes_before, 1u);
    EXPECT_EQ(p.client_tap->records() - records_before, 1u);
}

TEST(WriteCoalescing, WritesOfLaterTurnsAreNotHeldBack) {
    TlsPair p;
    XmlEnd bridge, server;
    p.open_xml(bridge, server);
    const std::size_t writes_before = p.client_tap->writes;
    bridge.xml->send(xml::Element("r", ns::sm));
    p.run();
    ASSERT_EQ(server.got.size(), 1u);  // delivered without any further write
    bridge.xml->send(xml::Element("r", ns::sm));
    p.run();
    EXPECT_EQ(server.got.size(), 2u);
    EXPECT_EQ(p.client_tap->writes - writes_before, 2u);
}

// Every TCP connection the bridge opens goes through TcpConnector and
// TcpStream: Nagle is off on it.
TEST(WriteCoalescing, ConnectedSocketsHaveNagleOff) {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
    asio::ip::tcp::socket accepted(io);
    acceptor.async_accept(accepted, [](const boost::system::error_code&) {});
    std::shared_ptr<net::TcpStream> stream;
    std::string error = "(pending)";
    net::TcpConnector::connect(io, "127.0.0.1", acceptor.local_endpoint().port(),
                               [&](Result<std::shared_ptr<net::TcpStream>> s) {
                                   error = s ? std::string() : s.error().text;
                                   if (s) stream = std::move(s).value();
                               });
    io.run();
    ASSERT_EQ(error, "");
    ASSERT_TRUE(stream);
    asio::ip::tcp::no_delay nodelay;
    stream->socket().get_option(nodelay);
    EXPECT_TRUE(nodelay.value());
}

// Nagle's other half: after each read the stream asks the kernel to
// acknowledge at once, so a peer with Nagle on (Prosody's default) does not
// hold its next segment ~40 ms for our delayed ACK. A connection starts in
// quick-ACK mode; a few request/answer turns put the kernel into its
// interactive (delayed-ACK) mode, which is where the stall happens.
TEST(WriteCoalescing, ReadsAreAcknowledgedAtOnce) {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
    asio::ip::tcp::socket peer(io);
    std::array<char, 64> peer_buf{};
    std::function<void()> peer_turn = [&] {
        asio::write(peer, asio::buffer(std::string("<iq/>")));
        peer.async_read_some(asio::buffer(peer_buf), [&](const boost::system::error_code& ec, std::size_t) {
            if (!ec) peer_turn();
        });
    };
    acceptor.async_accept(peer, [&](const boost::system::error_code& ec) {
        if (!ec) peer_turn();
    });
    std::shared_ptr<net::TcpStream> stream;
    std::vector<int> quickack;  // TCP_QUICKACK as each read is delivered
    net::TcpConnector::connect(io, "127.0.0.1", acceptor.local_endpoint().port(),
                               [&](Result<std::shared_ptr<net::TcpStream>> s) {
                                   ASSERT_TRUE(s) << s.error().text;
                                   stream = std::move(s).value();
                                   stream->set_handlers({[&](std::string_view) {
                                                             int on = 0;
                                                             socklen_t len = sizeof on;
                                                             getsockopt(stream->socket().native_handle(), IPPROTO_TCP,
                                                                        TCP_QUICKACK, &on, &len);
                                                             quickack.push_back(on);
                                                             if (quickack.size() == 20) {
                                                                 stream->abort();
                                                                 peer.close();
                                                             } else {
                                                                 stream->write("<iq type='result'/>");
                                                             }
                                                         },
                                                         [](const std::string&) {}});
                                   stream->start();
                               });
    io.run();
    ASSERT_EQ(quickack.size(), 20u);
    for (std::size_t i = 0; i < quickack.size(); ++i) EXPECT_EQ(quickack[i], 1) << "read " << i;
}
