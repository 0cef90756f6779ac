// Test helpers for raw secured streams (xtls::secure_stream, the OOB
// session): an Endpoint that reads everything a stream delivers — pausing
// now and then to exercise back-pressure — and writes a large payload only
// as fast as the stream drains.
#pragma once

#include <boost/asio/post.hpp>

#include <optional>
#include <string>

#include "xmpp/net/byte_stream.hpp"

namespace xpmn::test_oob {

// Deterministic bytes that show reordering or loss.
inline std::string pattern(std::size_t n, char salt) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7 + salt) & 0xff);
    return s;
}

struct Endpoint {
    net::ByteStreamPtr stream;
    std::string received;
    std::optional<std::string> closed;  // the on_closed reason, once
    std::string to_send;
    std::size_t sent = 0;
    std::size_t pause_every = 0;  // bytes read between pauses (0: never pause)
    std::size_t since_pause = 0;
    int pauses = 0;
    static constexpr std::size_t kPiece = 48 * 1024;
    static constexpr std::size_t kHighWater = 128 * 1024;

    void attach(net::ByteStreamPtr s) {
        stream = std::move(s);
        stream->set_handlers({[this](std::string_view d) { on_data(d); },
                              [this](const std::string& reason) {
                                  closed = reason;
                                  stream.reset();  // no callback follows; the stream may go
                              },
                              [this] { pump(); }});
        stream->start();
    }
    // Writes `bytes`, at most kHighWater ahead of what the stream drained.
    void send(std::string bytes) {
        to_send = std::move(bytes);
        sent = 0;
        pump();
    }
    void pump() {
        while (stream && sent < to_send.size() && stream->write_backlog() < kHighWater) {
            std::size_t n = std::min(kPiece, to_send.size() - sent);
            stream->write(to_send.substr(sent, n));
            sent += n;
        }
    }
    void on_data(std::string_view d) {
        received.append(d);
        since_pause += d.size();
        if (pause_every && since_pause >= pause_every) {
            since_pause = 0;
            ++pauses;
            stream->pause_reading();
            boost::asio::post(stream->executor(), [this, s = stream] {
                if (stream == s) s->resume_reading();
            });
        }
    }
};

}  // namespace xpmn::test_oob
