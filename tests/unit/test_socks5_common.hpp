// What the SOCKS5 socket tests share: loopback endpoints, a deadline long
// enough never to fire unless a test wants it to, and a collector for a
// stream's data.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/net/tcp_stream.hpp"

namespace socks5_test {

inline constexpr std::chrono::milliseconds kDeadline{10000};

// 127.0.0.1 on a port the kernel picks.
inline boost::asio::ip::tcp::endpoint loopback_any_port() {
    return {boost::asio::ip::make_address("127.0.0.1"), 0};
}

// Starts `stream`, appending its data to `into`; `then` runs after each piece.
inline void collect(const std::shared_ptr<xpmn::net::TcpStream>& stream, std::string& into, std::function<void()> then) {
    xpmn::net::ByteStream::Handlers h;
    h.on_data = [&into, then](std::string_view d) {
        into.append(d);
        then();
    };
    h.on_closed = [](const std::string&) {};
    stream->set_handlers(std::move(h));
    stream->start();
}

}  // namespace socks5_test
