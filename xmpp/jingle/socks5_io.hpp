// Reading one SOCKS5 message from a socket exactly: only as many bytes as
// the codec says the message has (socks5::Parse::wanted), so bytes that
// follow it stay in the socket for the stream that takes over. Shared by
// the client and the server side of the handshake.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>

#include <memory>
#include <string>

#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/net/tcp_stream.hpp"

namespace xpmn::jingle::socks5 {

// Reads until `parse` of the bytes read so far is not NeedMore, then calls
// `then(error_code, Parse)`. `buffer` (empty at the start) must outlive the
// read; `keep_alive` (its owner) and `stream` are held by the pending read:
// an owner that gives the stream up mid-read (abort on cancel) must not
// free the socket under a read that already completed and reads on.
template <class Parser, class Then>
void read_exactly(std::shared_ptr<net::TcpStream> stream, std::string& buffer, std::shared_ptr<void> keep_alive,
                  Parser parse, Then then) {
    auto p = parse(buffer);
    if (!p.need_more()) {
        buffer.clear();  // exact reads: the message was all of it
        return then(boost::system::error_code{}, std::move(p));
    }
    const std::size_t have = buffer.size();
    buffer.resize(p.wanted);
    auto& socket = stream->socket();
    boost::asio::async_read(socket, boost::asio::buffer(buffer.data() + have, p.wanted - have),
                            [stream = std::move(stream), &buffer, keep_alive, parse, then, have](
                                const boost::system::error_code& ec, std::size_t n) mutable {
                                if (ec) {
                                    buffer.resize(have + n);
                                    return then(ec, decltype(parse(buffer)){});
                                }
                                read_exactly(std::move(stream), buffer, std::move(keep_alive), parse, then);
                            });
}

}  // namespace xpmn::jingle::socks5
