// One In-Band Bytestream (XEP-0047) with one peer, as a net::ByteStream, so
// TLS and XML streams stack on it like on TCP. Data goes as base64 <data/>
// in IQ-sets (stanza='iq' only), each answered before the next may leave
// once `window` of them are unanswered.
//
// Flow control (the byte-stream contract, both ways):
// - writing: write_backlog() counts bytes not yet sent plus bytes sent in
//   data IQs the peer has not acknowledged; on_drained fires when the peer
//   has acknowledged everything. A peer that answers slowly slows the writer.
// - reading: while paused (or before start()) a data IQ is checked, then
//   held with its result unsent: a sender that waits for results (as IBB
//   recommends, and as this class does) stops after its window, which is
//   real back-pressure. What is held is bounded (Options::max_held); a peer
//   that sends beyond it without waiting gets resource-constraint and the
//   stream ends with an error.
//
// Errors (XEP-0047 §2.2): a seq other than the next one (out of order,
// repeated) → unexpected-request; bad base64 or a chunk over the block size
// → bad-request; either way the stream is closed (<close/> sent) and
// on_closed reports why. An error answer to one of our data IQs ends it too.
// The peer's <close/> ends the stream cleanly after held data is delivered;
// our unsent bytes are dropped then (the peer closed the whole bytestream).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"

namespace xpmn::jingle {

inline constexpr const char* kIbbNs = "http://jabber.org/protocol/ibb";

class IbbRegistry;

class IbbStream : public net::ByteStream, public std::enable_shared_from_this<IbbStream> {
public:
    // The largest block-size this bridge takes (responders lower bigger offers to it).
    static constexpr std::size_t kMaxBlockSize = 16384;

    struct Options {
        std::size_t block_size = 4096;  // XEP-0047's recommendation
        std::size_t window = 4;         // data IQs sent and not yet answered
        std::size_t max_held = 128 * 1024;  // bytes held while the reader pauses (≥ any sane window × block)
        // A data IQ unanswered this long ends the stream; longer than a
        // reader may reasonably stay paused (the liveness ping of the
        // session above catches a peer stuck for good).
        std::chrono::milliseconds data_timeout{60000};
        std::chrono::milliseconds close_deadline = kDefaultCloseDeadline;
        std::uint16_t first_seq = 0;  // 0 per XEP-0047; tests start near 65535 to see it wrap
    };

    IbbStream(IbbRegistry& registry, Jid peer, std::string sid, Options options);
    ~IbbStream() override;

    const Jid& peer() const { return peer_; }
    const std::string& sid() const { return sid_; }
    std::size_t block_size() const { return options_.block_size; }
    bool is_open() const { return state_ == State::Open; }
    // The peer's <close/> came: everything it sent is here (held or delivered).
    bool closed_by_peer() const { return peer_closed_; }

    // We open it: sends <open/> and calls `done` with the peer's answer
    // (the stream is usable once it succeeded).
    void open(std::function<void(Result<void>)> done);
    // The peer opens it: called once its acceptable <open/> was answered.
    void set_opened_handler(std::function<void()> opened) { opened_ = std::move(opened); }
    // Called once when the stream has ended for good, even after close() or
    // abort() (when close() has flushed): what the Jingle session waits for
    // before session-terminate, so that it never overtakes the last data.
    void set_finished_handler(std::function<void()> finished) { finished_ = std::move(finished); }

    // net::ByteStream
    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void pause_reading() override { paused_ = true; }
    void resume_reading() override;
    void write(std::string bytes) override;
    std::size_t write_backlog() const override { return out_.size() - out_pos_ + in_flight_bytes_; }
    void close() override;
    void abort() override;
    boost::asio::any_io_executor executor() const override { return executor_; }

private:
    friend class IbbRegistry;
    enum class State { Idle, Opening, Open, Ended };
    struct Held {
        std::string bytes;
        client::IqResponder responder;
    };

    // From the registry: the peer's <open/>, <data/>, <close/>.
    void on_open(const xml::Element& open, client::IqResponder r);
    void on_data(const xml::Element& data, client::IqResponder r);
    void on_close(client::IqResponder r);

    void send(xml::Element payload, std::chrono::milliseconds timeout, client::IqCallback done);
    void schedule(void (IbbStream::*step)());
    void pump();
    void deliver();
    void acknowledged(std::size_t bytes, const client::IqResponse& r);
    void send_close();
    // Ends the stream: <close/> to the peer (unless it closed), held IQs
    // refused, on_closed(reason) unless the owner already closed it.
    void fail(const std::string& reason);
    void finish(const std::string& reason);
    void release_held(std::string_view condition);
    void unregister();

    IbbRegistry* registry_;
    std::weak_ptr<IbbRegistry*> registry_alive_;
    Jid peer_;
    std::string sid_;
    Options options_;
    State state_ = State::Idle;
    Handlers handlers_;
    boost::asio::any_io_executor executor_;
    boost::asio::steady_timer timer_;  // close deadline
    std::function<void(Result<void>)> open_done_;
    std::function<void()> opened_;
    std::function<void()> finished_;
    // writing
    std::string out_;
    std::size_t out_pos_ = 0;
    std::size_t in_flight_ = 0, in_flight_bytes_ = 0;
    std::uint16_t seq_out_;
    // reading
    std::uint16_t seq_in_;
    std::deque<Held> held_;
    std::size_t held_bytes_ = 0;
    bool started_ = false, paused_ = false;
    bool peer_closed_ = false;  // its <close/> came: end after the held data
    bool closed_ = false;       // our owner closed or aborted: no more callbacks
    bool closing_ = false;      // close(): flush, then <close/>
    // Ended before its owner listened (no on_closed yet): told on start().
    std::optional<std::string> unreported_end_;
    bool pump_posted_ = false, delivery_posted_ = false;
    std::shared_ptr<IbbStream> keep_alive_;  // while close() flushes
};

using IbbStreamPtr = std::shared_ptr<IbbStream>;

}  // namespace xpmn::jingle
