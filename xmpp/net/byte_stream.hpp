// The bottom of the stream stack: an ordered, reliable byte stream. TCP, TLS
// (which runs over another ByteStream), the in-memory pair of the tests, and
// later Jingle IBB/SOCKS5 transports all implement it, so XML streams and XTLS
// stack on any of them.
//
// Flow control runs both ways (docs/architecture.md, "byte-stream contract"):
// - reading: a consumer that cannot keep up calls pause_reading(); the stream
//   then stops taking bytes from below (the peer's writes back up) and holds at
//   most a bounded amount until resume_reading();
// - writing: write() never refuses, so a producer watches write_backlog() and
//   waits for on_drained before producing more.
//
// Callbacks are never made from inside a call to one of these methods: they
// come from the event loop (I/O completions or posted tasks), so a caller may
// call any method, including close(), from inside a callback.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
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
        // Called each time write_backlog() falls to zero: everything written
        // so far has left this stream (to the kernel, the layer below, or the
        // peer). Optional.
        std::function<void()> on_drained;
    };

    // How long close() waits for queued bytes before it aborts.
    static constexpr std::chrono::milliseconds kDefaultCloseDeadline{5000};

    virtual ~ByteStream() = default;
    virtual void set_handlers(Handlers handlers) = 0;
    // Starts delivering data to on_data; calling it again has no effect.
    virtual void start() = 0;
    // No on_data after this returns until resume_reading(); the stream stops
    // reading from below once its own bounded buffer is full. May be called
    // before start() and from inside on_data.
    virtual void pause_reading() = 0;
    // Delivers what was held back (from a posted task), then reads on.
    virtual void resume_reading() = 0;
    // Queues bytes; they are written in order. Writes made during one turn of
    // the event loop leave together (one socket write, one TLS record batch).
    virtual void write(std::string bytes) = 0;
    // Bytes queued but not yet handed to the layer below.
    virtual std::size_t write_backlog() const = 0;
    // Ends the stream gracefully: queued bytes are flushed, then the stream is
    // shut; if they cannot leave within the close deadline, it aborts. No more
    // callbacks are made.
    virtual void close() = 0;
    // Ends the stream now: queued bytes are dropped, the connection is reset
    // (no lingering socket, no memory held). No more callbacks are made.
    virtual void abort() = 0;
    // The executor every callback runs on.
    virtual boost::asio::any_io_executor executor() const = 0;

    // The writer has nothing more to send for now: what it wrote must reach
    // the peer even through a relay that forwards only when more arrives
    // (see relay_may_hold_tail). Layers that cannot help do nothing.
    virtual void push_through() {}
    // True when the far end of this stream is a relay (a SOCKS5 proxy) that
    // may keep the last few KiB of a burst until more bytes come: Prosody
    // 0.12's mod_proxy65 reads ahead into a buffer it forgets after pausing.
    virtual bool relay_may_hold_tail() const { return false; }
};

using ByteStreamPtr = std::shared_ptr<ByteStream>;

}  // namespace xpmn::net
