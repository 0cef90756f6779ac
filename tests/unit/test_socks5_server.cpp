// The server side of the SOCKS5 handshake on 127.0.0.1: against our client
// (both ends come out as streams that carry data both ways) and against raw
// bytes for refusals, junk, early data and a silent client.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>

#include <optional>

#include "xmpp/jingle/socks5_client.hpp"
#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/jingle/socks5_server.hpp"
#include "test_socks5_common.hpp"

using namespace xpmn;
using namespace xpmn::jingle::socks5;
using namespace std::string_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using socks5_test::collect;
using socks5_test::kDeadline;

namespace {

const std::string kHash = dst_addr("vj3hs98y", "juliet@capulet.lit/balcony", "romeo@montague.lit/orchard");

class Serve {
public:
    explicit Serve(std::chrono::milliseconds deadline = kDeadline)
        : acceptor_(io, socks5_test::loopback_any_port()) {
        acceptor_.async_accept([this, deadline](const boost::system::error_code& ec, tcp::socket socket) {
            acceptor_.close();
            if (ec) return;
            handshake = ServerHandshake::run(
                std::move(socket), [](const std::string& a) { return a == kHash; }, deadline,
                [this](Result<ServerHandshake::Accepted> r) {
                    result.emplace(std::move(r));
                    if (on_result) on_result();
                });
            if (on_started) on_started();
        });
    }
    tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

    // A raw client that writes `bytes` at once, then collects all it gets until the server ends.
    void raw_client(const std::string& bytes) {
        raw_.emplace(io);
        raw_->connect(endpoint());
        asio::write(*raw_, asio::buffer(bytes));
        asio::async_read(*raw_, asio::dynamic_buffer(raw_answer), [this](const boost::system::error_code&, std::size_t) {
            raw_ended = true;
        });
    }
    void close_raw() {
        boost::system::error_code ec;
        raw_->close(ec);
    }

    asio::io_context io;
    std::shared_ptr<ServerHandshake> handshake;
    std::optional<Result<ServerHandshake::Accepted>> result;
    std::function<void()> on_result;
    std::function<void()> on_started;  // right after the handshake began
    std::string raw_answer;
    bool raw_ended = false;

private:
    tcp::acceptor acceptor_;
    std::optional<tcp::socket> raw_;
};

std::string greeting_and_connect(const std::string& address) { return encode_greeting() + *encode_connect(address); }

}  // namespace

TEST(Socks5Server, OurClientAndServerGetStreamsThatCarryDataBothWays) {
    Serve s;
    std::shared_ptr<net::TcpStream> client_stream, server_stream;
    std::string at_client, at_server;
    auto maybe_end = [&] {
        if (at_client == "to client" && at_server == "to server") {
            client_stream->abort();
            server_stream->abort();
        }
    };
    s.on_result = [&] {
        ASSERT_TRUE(*s.result) << s.result->error().describe();
        server_stream = (*s.result)->stream;
        collect(server_stream, at_server, maybe_end);
        server_stream->write("to client");
    };
    std::optional<Error> client_error;
    Client::connect(s.io, "127.0.0.1", s.endpoint().port(), kHash, kDeadline,
                    [&](Result<std::shared_ptr<net::TcpStream>> r) {
                        if (!r) return client_error.emplace(r.error()), void();
                        client_stream = *r;
                        collect(client_stream, at_client, maybe_end);
                        client_stream->write("to server");
                    });
    s.io.run();
    ASSERT_FALSE(client_error) << client_error->describe();
    ASSERT_TRUE(s.result && *s.result);
    EXPECT_EQ((*s.result)->dst_addr, kHash);
    EXPECT_EQ(at_client, "to client");
    EXPECT_EQ(at_server, "to server");
}

TEST(Socks5Server, BytesRightAfterTheRequestBelongToTheStream) {
    Serve s;
    std::string got;
    s.on_result = [&] {
        ASSERT_TRUE(*s.result) << s.result->error().describe();
        auto stream = (*s.result)->stream;
        collect(stream, got, [&, stream] {
            if (got != "early") return;
            stream->abort();
            s.close_raw();
        });
    };
    s.raw_client(greeting_and_connect(kHash) + "early");
    s.io.run();
    EXPECT_EQ(got, "early");
    // The client read the method choice and the success reply echoing its address.
    EXPECT_EQ(s.raw_answer.substr(0, 2), "\x05\x00"s);
    auto reply = parse_reply(std::string_view(s.raw_answer).substr(2));
    ASSERT_TRUE(reply.done());
    EXPECT_EQ(reply.value.rep, Rep::Succeeded);
    EXPECT_EQ(reply.value.bound.value, kHash);
}

TEST(Socks5Server, UnknownHashIsRefusedAsHostUnreachable) {
    Serve s;
    s.raw_client(greeting_and_connect(std::string(40, '0')));
    s.io.run();
    ASSERT_TRUE(s.result);
    ASSERT_FALSE(*s.result);
    EXPECT_EQ(s.result->error().condition, "not-acceptable");
    auto reply = parse_reply(std::string_view(s.raw_answer).substr(2));
    ASSERT_TRUE(reply.done());
    EXPECT_EQ(reply.value.rep, Rep::HostUnreachable);
    EXPECT_TRUE(s.raw_ended);
}

TEST(Socks5Server, ClientWithoutNoAuthGetsNoAcceptableMethod) {
    Serve s;
    s.raw_client("\x05\x01\x02"s);  // username/password only
    s.io.run();
    ASSERT_TRUE(s.result);
    ASSERT_FALSE(*s.result);
    EXPECT_EQ(s.result->error().condition, "not-acceptable");
    EXPECT_EQ(s.raw_answer, "\x05\xff"s);
}

TEST(Socks5Server, OtherCommandsAndAddressTypesAreRefused) {
    {
        Serve s;
        s.raw_client(encode_greeting() + "\x05\x02\x00\x03\x28"s + kHash + "\x00\x00"s);  // BIND
        s.io.run();
        ASSERT_TRUE(s.result && !*s.result);
        auto reply = parse_reply(std::string_view(s.raw_answer).substr(2));
        ASSERT_TRUE(reply.done());
        EXPECT_EQ(reply.value.rep, Rep::CommandNotSupported);
    }
    {
        Serve s;
        s.raw_client(encode_greeting() + "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"s);  // CONNECT 127.0.0.1:80
        s.io.run();
        ASSERT_TRUE(s.result && !*s.result);
        auto reply = parse_reply(std::string_view(s.raw_answer).substr(2));
        ASSERT_TRUE(reply.done());
        EXPECT_EQ(reply.value.rep, Rep::AddressTypeNotSupported);
    }
}

TEST(Socks5Server, JunkIsABadRequestAndTheConnectionEnds) {
    Serve s;
    s.raw_client("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    s.io.run();
    ASSERT_TRUE(s.result && !*s.result);
    EXPECT_EQ(s.result->error().condition, "bad-request");
    EXPECT_TRUE(s.raw_answer.empty());
    EXPECT_TRUE(s.raw_ended);
}

TEST(Socks5Server, ClientLeavingMidRequestIsReported) {
    Serve s;
    s.raw_client(encode_greeting() + "\x05\x01\x00\x03\x28"s + kHash.substr(0, 7));
    s.close_raw();  // the request stays incomplete
    s.io.run();
    ASSERT_TRUE(s.result && !*s.result);
    EXPECT_EQ(s.result->error().condition, "remote-server-not-found");
}

TEST(Socks5Server, SilentClientEndsAtTheDeadline) {
    Serve s(std::chrono::milliseconds(100));
    s.raw_client("");
    s.io.run();
    ASSERT_TRUE(s.result && !*s.result);
    EXPECT_EQ(s.result->error().condition, "remote-server-timeout");
    EXPECT_TRUE(s.raw_ended);
}

TEST(Socks5Server, CancelMakesNoCallbackAndDropsTheConnection) {
    Serve s;
    s.raw_client("\x05"s);  // half a greeting: the server would wait
    s.on_started = [&] { s.handshake->cancel(); };
    s.io.run();
    EXPECT_FALSE(s.result);
    EXPECT_TRUE(s.raw_ended);
}
