// The bottom of the stream stack: an ordered, reliable byte stream. TCP, TLS
// (which runs over another ByteStream), and later Jingle IBB/SOCKS5 transports
// all implement it, so XML streams and XTLS stack on any of them.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace xpmn::net {

class ByteStream {
public:
    struct Handlers {
        std::function<void(std::string_view)> on_data;
        // Called once when the stream ends: `reason` empty for a clean end
        // (EOF/close_notify), else what went wrong. No callbacks follow it.
        std::function<void(const std::string& reason)> on_closed;
    };

    virtual ~ByteStream() = default;
    virtual void set_handlers(Handlers handlers) = 0;
    // Starts delivering data to on_data; calling it again has no effect.
    virtual void start() = 0;
    // Queues bytes; they are written in order.
    virtual void write(std::string bytes) = 0;
    // Bytes queued but not yet handed to the layer below.
    virtual std::size_t write_backlog() const = 0;
    // Ends the stream: pending writes are flushed where possible, then no
    // more callbacks are made.
    virtual void close() = 0;
};

using ByteStreamPtr = std::shared_ptr<ByteStream>;

}  // namespace xpmn::net
