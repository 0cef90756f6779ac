// The server side of an S5B connection on one accepted socket (our direct
// or assisted candidates; XEP-0065 §5.3.2 seen from the StreamHost): the
// greeting (no authentication must be offered), the CONNECT request, whose
// DST.ADDR names the bytestream, and the reply, all within one deadline.
// Only CONNECT with a domain-name address is served, as XEP-0065 requires;
// the reply echoes the address and port (XEP-0065 §5.3.2). The result is
// the DST.ADDR and a TcpStream that is not started yet, positioned right
// after the request: bytes the client sends after it belong to the stream.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xmpp/core/result.hpp"
#include "xmpp/net/tcp_stream.hpp"

namespace xpmn::jingle::socks5 {

class ServerHandshake : public std::enable_shared_from_this<ServerHandshake> {
public:
    struct Accepted {
        std::string dst_addr;
        std::shared_ptr<net::TcpStream> stream;
    };
    // Whether a DST.ADDR names a bytestream we expect. A refused one gets
    // reply "host unreachable" and the connection is closed.
    using Expect = std::function<bool(const std::string& dst_addr)>;
    // The stream, or an Error: remote-server-timeout past the deadline,
    // not-acceptable for a client we refused (the text says why),
    // bad-request for bytes that are not SOCKS5, remote-server-not-found
    // when the client went away.
    using Handler = std::function<void(Result<Accepted>)>;

    // Calls `done` once, from the event loop, unless cancel() came first.
    static std::shared_ptr<ServerHandshake> run(boost::asio::ip::tcp::socket socket, Expect expect,
                                                std::chrono::milliseconds deadline, Handler done);
    // Gives up: no callback follows, the connection is reset.
    void cancel();

private:
    ServerHandshake(boost::asio::ip::tcp::socket socket, Expect expect, Handler done);
    void read_greeting();
    void read_request();
    // Writes `bytes`, then finishes with `refusal` (an Error) or hands over.
    void answer(std::string bytes, std::optional<Error> refusal);
    // A refused client is closed gracefully so it reads our answer; any
    // other failure resets the connection.
    void finish(Result<Accepted> outcome, bool graceful = false);

    std::shared_ptr<net::TcpStream> stream_;
    boost::asio::steady_timer timer_;
    Expect expect_;
    Handler done_;
    std::string in_;
    std::string out_;
    std::string dst_addr_;
    bool finished_ = false;
};

}  // namespace xpmn::jingle::socks5
