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

namespace xpmn::jingle::socks5 {

// Reads until `parse` of the bytes read so far is not NeedMore, then calls
// `then(error_code, Parse)`. `buffer` (empty at the start) must outlive the
// read; `keep_alive` is held by the pending read.
template <class Parser, class Then>
void read_exactly(boost::asio::ip::tcp::socket& socket, std::string& buffer, std::shared_ptr<void> keep_alive,
                  Parser parse, Then then) {
    auto p = parse(buffer);
    if (!p.need_more()) {
        buffer.clear();  // exact reads: the message was all of it
        return then(boost::system::error_code{}, std::move(p));
    }
    const std::size_t have = buffer.size();
    buffer.resize(p.wanted);
    boost::asio::async_read(socket, boost::asio::buffer(buffer.data() + have, p.wanted - have),
                            [&socket, &buffer, keep_alive, parse, then, have](const boost::system::error_code& ec,
                                                                              std::size_t n) mutable {
                                if (ec) {
                                    buffer.resize(have + n);
                                    return then(ec, decltype(parse(buffer)){});
                                }
                                read_exactly(socket, buffer, std::move(keep_alive), parse, then);
                            });
}

}  // namespace xpmn::jingle::socks5
