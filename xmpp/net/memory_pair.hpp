// Two connected ByteStreams in memory, on one io_context: what one end writes
// the other reads, delivered from posted tasks like socket completions. It
// keeps the contract of a real connection (ordering, pause/resume, drain,
// graceful close with a deadline, abort as a reset), and models the kernel's
// buffers with a bound on the bytes in flight, so that a reader that stops
// reading makes the writer's backlog grow. For tests of the stream stack
// (TLS, XML streams, back-pressure) without sockets, and for in-process
// channels.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <utility>

#include "xmpp/net/byte_stream.hpp"

namespace xpmn::net {

struct MemoryPairOptions {
    // Bytes written by one end that the other has not read yet and that no
    // longer count in the writer's backlog (a socket's kernel buffers).
    std::size_t max_in_flight = 256 * 1024;
    std::chrono::milliseconds close_deadline = ByteStream::kDefaultCloseDeadline;
};

class MemoryStream : public ByteStream, public std::enable_shared_from_this<MemoryStream> {
public:
    // Largest piece handed to on_data at once.
    static constexpr std::size_t kMaxDelivery = 16 * 1024;

    MemoryStream(boost::asio::io_context& io, MemoryPairOptions options);
    ~MemoryStream() override;

    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void pause_reading() override { paused_ = true; }
    void resume_reading() override;
    void write(std::string bytes) override;
    std::size_t write_backlog() const override { return out_.size() - out_pos_; }
    void close() override;
    void abort() override;
    boost::asio::any_io_executor executor() const override { return executor_; }

    // What the tests observe: how many write() calls reached this end (each
    // would be one socket write), and the bytes sent and not yet read by the peer.
    std::uint64_t write_calls() const { return write_calls_; }
    std::size_t in_flight() const;

private:
    friend std::pair<std::shared_ptr<MemoryStream>, std::shared_ptr<MemoryStream>> make_memory_pair(
        boost::asio::io_context&, MemoryPairOptions);

    void post_once(bool MemoryStream::*posted, void (MemoryStream::*step)());
    void schedule_pump();
    void pump();
    void schedule_delivery();
    void deliver();
    void sent_everything();
    void end_with(const std::string& reason);
    void reset_peer();

    boost::asio::any_io_executor executor_;
    boost::asio::steady_timer timer_;  // close deadline
    MemoryPairOptions options_;
    std::weak_ptr<MemoryStream> peer_;
    Handlers handlers_;
    std::string out_;  // written, not yet on the wire; out_pos_ bytes of it already moved
    std::size_t out_pos_ = 0;
    std::string in_;   // on the wire towards this end; in_pos_ bytes of it already read
    std::size_t in_pos_ = 0;
    std::uint64_t write_calls_ = 0;
    bool started_ = false;
    bool paused_ = false;
    bool pump_posted_ = false;
    bool delivery_posted_ = false;
    bool closed_ = false;    // by this end: no more callbacks
    bool closing_ = false;   // close() waits for out_ to leave
    bool peer_ended_ = false;  // the peer closed: EOF after in_
    bool peer_reset_ = false;  // the peer aborted: reset now
};

std::pair<std::shared_ptr<MemoryStream>, std::shared_ptr<MemoryStream>> make_memory_pair(
    boost::asio::io_context& io, MemoryPairOptions options = {});

}  // namespace xpmn::net
