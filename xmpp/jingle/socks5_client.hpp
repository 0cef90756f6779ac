// The client side of an S5B connection (XEP-0065 §5.3.2/§6.3.2, RFC 1928):
// TCP to a candidate (the peer's direct/assisted address or a proxy), then
// the SOCKS5 handshake asking for the DST.ADDR hash, all within one deadline
// (XEP-0260 §4: never wait for a TCP timeout). The result is a TcpStream
// that is not started yet, positioned right after the SOCKS5 reply.
//
// Each message is written on its own and the CONNECT only after the server's
// method choice: Prosody's mod_proxy65 reads the greeting and the request in
// separate reads and drops a client that sends both at once. Replies are
// read exactly (socks5::Parse::wanted), so bytes the peer sends after its
// reply stay in the socket for the stream.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "xmpp/core/result.hpp"
#include "xmpp/net/tcp_stream.hpp"

namespace xpmn::jingle::socks5 {

class Client : public std::enable_shared_from_this<Client> {
public:
    // The stream, or an Error: remote-server-timeout when the deadline
    // passed, remote-server-not-found when TCP failed, not-acceptable when
    // the server refused (method or reply code; the text says which),
    // bad-request for a reply that is not SOCKS5.
    using Handler = std::function<void(Result<std::shared_ptr<net::TcpStream>>)>;

    // Calls `done` once, from the event loop, unless cancel() came first.
    // The client keeps itself alive until then; the pointer is for cancel().
    static std::shared_ptr<Client> connect(boost::asio::io_context& io, std::string host, std::uint16_t port,
                                           std::string dst_addr, std::chrono::milliseconds deadline, Handler done);
    // Gives up: no callback follows, the connection (if any) is reset.
    void cancel();

private:
    Client(boost::asio::io_context& io, std::string dst_addr, Handler done);
    void on_connected(std::shared_ptr<net::TcpStream> stream);
    void send(std::string bytes, void (Client::*next)());
    void read_method_choice();
    void read_reply();
    void read_failed(const boost::system::error_code& ec);
    void finish(Result<std::shared_ptr<net::TcpStream>> outcome);
    void fail(std::string condition, std::string text);

    boost::asio::steady_timer timer_;
    std::string dst_addr_;
    Handler done_;
    std::shared_ptr<net::TcpConnector> connector_;
    std::shared_ptr<net::TcpStream> stream_;
    std::string out_;  // the message being written
    std::string in_;   // the message being read
    bool finished_ = false;
};

}  // namespace xpmn::jingle::socks5
