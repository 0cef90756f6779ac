// Our direct S5B candidates (XEP-0260 §2.1): one listening TCP socket per
// usable local address, each accepted connection run through the SOCKS5
// server handshake, which lets in only the DST.ADDR of this transport.
// Handshakes in progress are bounded; connections beyond are closed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"
#include "xmpp/jingle/socks5_server.hpp"

namespace xpmn::jingle {

// Handshakes one listener runs at a time: the peer needs one per candidate.
inline constexpr std::size_t kMaxS5bHandshakes = 8;

class S5bListener : public std::enable_shared_from_this<S5bListener> {
public:
    struct Bound {
        std::string address;  // as given (an IP literal)
        std::uint16_t port = 0;
    };
    // The index of the Bound the connection came in on, and the stream (not
    // started, right after the SOCKS5 request).
    using Handler = std::function<void(std::size_t bound_index, std::shared_ptr<net::TcpStream> stream)>;

    // Listens on each address (port chosen by the kernel). An address that is
    // not an IP literal is bad-request; one that cannot be bound is left out
    // and named in skipped().
    static Result<std::shared_ptr<S5bListener>> open(boost::asio::io_context& io,
                                                     const std::vector<std::string>& addresses);
    const std::vector<Bound>& bound() const { return bound_; }
    const std::vector<std::string>& skipped() const { return skipped_; }

    // Accepts clients asking for one of `dst_addrs`; `on_stream` runs for each one
    // that completed the handshake (from the event loop).
    void start(std::vector<std::string> dst_addrs, std::chrono::milliseconds handshake_deadline, Handler on_stream);
    // Stops listening and drops handshakes in progress. Idempotent.
    void close();

private:
    explicit S5bListener(boost::asio::io_context& io) : io_(io) {}
    void accept(std::size_t index);
    void handshake(std::size_t index, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& io_;
    std::vector<Bound> bound_;
    std::vector<std::string> skipped_;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
    std::map<std::uint64_t, std::shared_ptr<socks5::ServerHandshake>> handshakes_;
    std::uint64_t next_handshake_ = 0;
    std::vector<std::string> dst_addrs_;
    std::chrono::milliseconds deadline_{5000};
    Handler on_stream_;
    bool closed_ = false;
};

}  // namespace xpmn::jingle
