// The receiving half of the OOB multiplexer (wire profile §6.2): parses the
// chunks off the secured stream and hands each id's bytes to the Sink that
// expect() registered once the IQ result named the id.
//
// Bytes an id cannot take yet are held: chunks that came before expect()
// (the IQ result travels another path) and chunks for a sink that paused.
// Held bytes are bounded — kMaxHeldPerId per id (plus at most one chunk that
// was being parsed), kMaxEarlyIds ids not expected yet, kMaxHeld in all —
// and once a bound is reached the receiver stops reading the stream (the
// peer's sender then stops on its backlog) until expect(), resume() or
// cancel() makes room. Because the stream is shared, a sink that stays
// paused holds up every id behind it once its bound is reached.
// An id that no expect() claims within Options::early_deadline (its IQ
// result was lost, or came after the requester gave up) is dropped and
// reported through on_unclaimed, so that the owner can abort it at the
// sender: otherwise it would hold the stream up for good.
//
// A Sink's callbacks run from the event loop, never inside expect(),
// pause(), resume() or cancel(); from inside them any of those may be called.
// on_end runs once: ok when exactly the announced size arrived; an error
// when the id ended short (the sender's source failed, or it was aborted),
// brought more than announced, or the stream closed before its end.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"
#include "xmpp/oob/chunk_codec.hpp"

namespace xpmn::oob {

struct Sink {
    std::function<void(std::string_view)> on_data;  // the view lives for the call only
    std::function<void(Result<void>)> on_end;
};

class OobReceiver : public std::enable_shared_from_this<OobReceiver> {
public:
    // Early chunks kept per id before its expect() (wire profile §6.2); also
    // what a paused sink's id may hold before the stream stops being read.
    static constexpr std::size_t kMaxHeldPerId = 256 * 1024;
    // Ids with chunks but no expect() yet: concurrent transfers whose IQ
    // results are still on their way.
    static constexpr std::size_t kMaxEarlyIds = 16;
    // Everything held, all ids together.
    static constexpr std::size_t kMaxHeld = 4 * 1024 * 1024;

    struct Options {
        // How long chunks of an id may wait for its expect(); far longer than
        // an IQ result takes through the servers.
        std::chrono::milliseconds early_deadline{30000};
    };
    struct Hooks {
        std::function<void(const Error&)> on_broken;             // a framing error: the stream is unusable
        std::function<void(const std::string& id)> on_unclaimed;  // an early id dropped at its deadline
    };

    OobReceiver(net::ByteStreamPtr stream, Options options, Hooks hooks);

    // Errors: an invalid id, an id already expected (conflict), the stream
    // closed before the id's end arrived.
    Result<void> expect(const std::string& id, std::uint64_t size, Sink sink);
    // No on_data for the id after pause() until resume().
    void pause(const std::string& id);
    void resume(const std::string& id);
    // The receiver does not want the id any more (after sending the abort):
    // no more callbacks for it; its bytes are dropped until its end.
    void cancel(const std::string& id);

    // From the multiplexer: bytes of the stream; the stream closed (every id
    // not complete yet ends with `error`, reported from the loop; complete
    // ones are still delivered; no other expect() is taken after); the
    // multiplexer is going away (no callbacks at all any more).
    void on_data(std::string_view bytes);
    void close(const Error& error);
    void shutdown();

    std::size_t held() const { return held_total_; }
    bool reading_paused() const { return stream_paused_; }

private:
    struct Incoming {
        std::shared_ptr<Sink> sink;  // shared: a callback may cancel() its own id
        std::uint64_t size = 0;
        std::uint64_t received = 0;  // bytes given to the sink
        std::string held;
        bool paused = false;
        bool ended = false;       // its zero chunk arrived
        bool discarding = false;  // cancelled or failed: drop bytes until its end
        std::chrono::steady_clock::time_point seen;  // when its first chunk came, if before expect()
    };
    using Map = std::map<std::string, Incoming, std::less<>>;

    void parse_input();
    Result<void> parse(std::string_view& in);
    Result<void> on_chunk(std::string_view id, std::string_view data);
    void on_end_of(std::string_view id);
    void deliver(Map::iterator it, std::string_view data);
    void finish(Map::iterator it, Result<void> outcome);
    void drain_held(Map::iterator it);
    void schedule_flush();
    void flush();
    bool must_stop_reading() const;
    void update_reading();
    Map::iterator entry(std::string_view id);
    void arm_deadline();
    void on_deadline();
    Result<void> outcome(const std::string& id, const Incoming& in) const;
    void drop_held(Incoming& in);

    net::ByteStreamPtr stream_;
    Options options_;
    Hooks hooks_;
    boost::asio::steady_timer deadline_;
    bool deadline_armed_ = false;
    ChunkParser parser_;
    Map incoming_;
    std::string input_;  // stream bytes not parsed yet, kept while reading is stopped
    std::size_t held_total_ = 0;
    bool stream_paused_ = false;
    bool flush_posted_ = false;
    bool closed_ = false;
    bool shut_down_ = false;
    Error close_error_;
};

}  // namespace xpmn::oob
