// The SOCKS5 client against a small SOCKS5 server on 127.0.0.1 written with
// the codec. The server is as strict as Prosody's mod_proxy65: the greeting
// and the request must each arrive in a read of their own, holding exactly
// that message.
#include <gtest/gtest.h>

#include <array>
#include <optional>

#include "xmpp/jingle/socks5_client.hpp"
#include "xmpp/jingle/socks5_codec.hpp"
#include "test_socks5_common.hpp"

using namespace xpmn;
using namespace xpmn::jingle::socks5;
using namespace std::string_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using socks5_test::collect;
using socks5_test::kDeadline;

namespace {

const std::string kHash = dst_addr("vj3hs98y", "romeo@montague.lit/orchard", "juliet@capulet.lit/balcony");

// What the server answers.
struct Script {
    std::string method_choice = encode_method_choice(kMethodNoAuth);  // empty: never answer
    Rep rep = Rep::Succeeded;
    std::string reply_override;   // sent instead of the encoded reply
    std::string after_reply;      // sent in the same write as the reply
    bool close_after_reply = false;
};

Script script(const std::function<void(Script&)>& change) {
    Script s;
    change(s);
    return s;
}

class StrictServer {
public:
    explicit StrictServer(asio::io_context& io, Script script = Script())
        : acceptor_(io, socks5_test::loopback_any_port()), socket_(io), script_(std::move(script)) {
        acceptor_.async_accept(socket_, [this](const boost::system::error_code& ec) {
            acceptor_.close();
            if (!ec) read_greeting();
        });
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void close() {
        boost::system::error_code ec;
        socket_.close(ec);
    }

    std::optional<Greeting> greeting;
    std::optional<Request> request;
    std::string strictness_error;  // set when a message did not come in a read of its own
    std::string received;          // bytes after the handshake
    bool peer_ended = false;
    std::function<void()> on_greeting;
    std::function<void()> on_received;

private:
    template <class Parser, class Then>
    void read_alone(Parser parse, Then then) {
        socket_.async_read_some(asio::buffer(buf_), [this, parse, then](const boost::system::error_code& ec, std::size_t n) {
            if (ec) {
                peer_ended = true;
                return;
            }
            auto p = parse(std::string_view(buf_.data(), n));
            if (!p.done() || p.consumed != n) {
                strictness_error = "read of " + std::to_string(n) + " bytes is not exactly one message";
                return close();
            }
            then(std::move(p.value));
        });
    }
    void write(std::string bytes, std::function<void()> next) {
        out_ = std::move(bytes);
        asio::async_write(socket_, asio::buffer(out_), [this, next](const boost::system::error_code& ec, std::size_t) {
            if (!ec && next) next();
        });
    }
    void read_greeting() {
        read_alone(parse_greeting, [this](Greeting g) {
            greeting = std::move(g);
            if (on_greeting) on_greeting();
            if (script_.method_choice.empty()) return read_rest();  // silent: only notice the end
            write(script_.method_choice, [this] { read_request(); });
        });
    }
    void read_request() {
        read_alone(parse_request, [this](Request r) {
            request = r;
            std::string reply = script_.reply_override;
            if (reply.empty()) reply = *encode_reply(script_.rep, r.address, r.port);
            write(reply + script_.after_reply, [this] {
                if (script_.close_after_reply) return close();
                read_rest();
            });
        });
    }
    void read_rest() {
        socket_.async_read_some(asio::buffer(buf_), [this](const boost::system::error_code& ec, std::size_t n) {
            if (ec) {
                peer_ended = true;
                return;
            }
            received.append(buf_.data(), n);
            if (on_received) on_received();
            read_rest();
        });
    }

    tcp::acceptor acceptor_;
    tcp::socket socket_;
    Script script_;
    std::array<char, 4096> buf_{};
    std::string out_;
};

struct Outcome {
    bool called = false;
    std::shared_ptr<net::TcpStream> stream;
    Error error;
};

Client::Handler record(Outcome& o) {
    return [&o](Result<std::shared_ptr<net::TcpStream>> r) {
        o.called = true;
        if (r) o.stream = std::move(*r);
        else o.error = r.error();
    };
}

Outcome run_against(Script script) {
    asio::io_context io;
    StrictServer server(io, std::move(script));
    Outcome o;
    Client::connect(io, "127.0.0.1", server.port(), kHash, kDeadline, record(o));
    io.run();
    EXPECT_TRUE(server.strictness_error.empty()) << server.strictness_error;
    return o;
}

}  // namespace

TEST(Socks5Client, HandshakeAsksForTheHashAndHandsOverTheStreamAfterTheReply) {
    asio::io_context io;
    StrictServer server(io, script([](Script& s) { s.after_reply = "hello"; }));
    Outcome o;
    std::string got;
    Client::connect(io, "127.0.0.1", server.port(), kHash, kDeadline, [&](Result<std::shared_ptr<net::TcpStream>> r) {
        record(o)(std::move(r));
        if (!o.stream) return;
        collect(o.stream, got, [&] {
            if (got == "hello") o.stream->write("ping");
        });
    });
    server.on_received = [&] {
        if (server.received != "ping") return;
        o.stream->abort();
        server.close();
    };
    io.run();

    ASSERT_TRUE(o.called);
    ASSERT_TRUE(o.stream) << o.error.describe();
    EXPECT_TRUE(server.strictness_error.empty()) << server.strictness_error;
    ASSERT_TRUE(server.greeting);
    EXPECT_EQ(server.greeting->methods, (std::vector<std::uint8_t>{kMethodNoAuth}));
    ASSERT_TRUE(server.request);
    EXPECT_EQ(server.request->command, kCmdConnect);
    EXPECT_EQ(server.request->address.type, kAtypDomain);
    EXPECT_EQ(server.request->address.value, kHash);
    EXPECT_EQ(server.request->port, 0);
    EXPECT_EQ(got, "hello");  // sent with the reply, not swallowed by the handshake
    EXPECT_EQ(server.received, "ping");
}

TEST(Socks5Client, ServerRefusingTheMethodIsNotAcceptable) {
    auto o = run_against(script([](Script& s) { s.method_choice = encode_method_choice(kMethodNoneAcceptable); }));
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.stream);
    EXPECT_EQ(o.error.condition, "not-acceptable");
}

TEST(Socks5Client, ReplyCodeIsReported) {
    auto o = run_against(script([](Script& s) { s.rep = Rep::HostUnreachable; }));
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.stream);
    EXPECT_EQ(o.error.condition, "not-acceptable");
    EXPECT_NE(o.error.text.find("host unreachable"), std::string::npos) << o.error.text;
}

TEST(Socks5Client, JunkReplyIsABadRequest) {
    auto o = run_against(script([](Script& s) { s.reply_override = "HTTP/1.1 400 Bad Request\r\n\r\n"; }));
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.stream);
    EXPECT_EQ(o.error.condition, "bad-request");
}

TEST(Socks5Client, ServerClosingInsideTheReplyFails) {
    auto o = run_against(script([](Script& s) {
        s.reply_override = "\x05\x00\x00\x03\x28"s + kHash.substr(0, 10);
        s.close_after_reply = true;
    }));
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.stream);
    EXPECT_EQ(o.error.condition, "remote-server-not-found");
}

TEST(Socks5Client, SilentServerEndsAtTheDeadline) {
    asio::io_context io;
    StrictServer server(io, script([](Script& s) { s.method_choice.clear(); }));
    Outcome o;
    Client::connect(io, "127.0.0.1", server.port(), kHash, std::chrono::milliseconds(100), record(o));
    io.run();
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.stream);
    EXPECT_EQ(o.error.condition, "remote-server-timeout");
    EXPECT_TRUE(server.peer_ended);  // the connection was dropped, not left open
}

TEST(Socks5Client, NothingListeningIsRemoteServerNotFound) {
    asio::io_context io;
    std::uint16_t port = 0;
    {
        tcp::acceptor a(io, socks5_test::loopback_any_port());
        port = a.local_endpoint().port();
    }
    Outcome o;
    Client::connect(io, "127.0.0.1", port, kHash, kDeadline, record(o));
    io.run();
    ASSERT_TRUE(o.called);
    EXPECT_EQ(o.error.condition, "remote-server-not-found");
}

TEST(Socks5Client, CancelMakesNoCallbackAndDropsTheConnection) {
    asio::io_context io;
    StrictServer server(io, script([](Script& s) { s.method_choice.clear(); }));
    Outcome o;
    auto client = Client::connect(io, "127.0.0.1", server.port(), kHash, kDeadline, record(o));
    server.on_greeting = [&] { client->cancel(); };
    io.run();
    EXPECT_FALSE(o.called);
    EXPECT_TRUE(server.peer_ended);
}

TEST(Socks5Client, OverlongDstAddrFailsBeforeTheRequest) {
    asio::io_context io;
    StrictServer server(io);
    Outcome o;
    Client::connect(io, "127.0.0.1", server.port(), std::string(256, 'a'), kDeadline, record(o));
    io.run();
    ASSERT_TRUE(o.called);
    EXPECT_EQ(o.error.condition, "bad-request");
    EXPECT_FALSE(server.request);
}
