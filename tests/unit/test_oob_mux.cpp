// The OOB multiplexer (wire profile §6.2) over an in-memory connection: ids
// from sources arrive intact at their sinks, take turns fairly, stay within
// bounded memory when the reader is slow or absent, may arrive before the
// IQ result names them, and end clearly on abort, a failing source, a
// closed connection or broken framing.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/tls_test_certs.hpp"
#include "tests/unit/tls_test_pair.hpp"
#include "xmpp/net/memory_pair.hpp"
#include "xmpp/oob/oob_mux.hpp"

using namespace xpmn;
namespace asio = boost::asio;
using oob::OobMux;
using oob::OobReceiver;
using oob::OobSender;

namespace {

constexpr std::uint64_t kMB = 1024 * 1024;

char pattern_byte(std::uint64_t offset, unsigned seed) {
    return static_cast<char>((offset * 7 + seed * 13 + (offset >> 16)) & 0xff);
}

// What a test sees of a source: bytes handed out, reads, cancel.
struct SourceLog {
    std::uint64_t produced = 0;
    std::size_t reads = 0;
    std::size_t largest_ask = 0;
    bool cancelled = false;
    bool read_while_reading = false;
};

// `total` pattern bytes, answered from posted tasks like a real source;
// fails instead of giving the bytes past `fail_at` when set.
class PatternSource : public oob::Source {
public:
    PatternSource(asio::io_context& io, std::uint64_t total, unsigned seed, std::shared_ptr<SourceLog> log,
                  std::optional<std::uint64_t> fail_at = {})
        : io_(io), total_(total), seed_(seed), log_(std::move(log)), fail_at_(fail_at) {}

    void read(std::size_t max, ReadHandler done) override {
        if (reading_) log_->read_while_reading = true;
        reading_ = true;
        ++log_->reads;
        log_->largest_ask = std::max(log_->largest_ask, max);
        asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), max, done = std::move(done)] {
            if (alive.expired() || cancelled_) return;
            reading_ = false;
            std::uint64_t end = std::min<std::uint64_t>(total_, log_->produced + max);
            if (fail_at_ && end > *fail_at_) {
                if (log_->produced < *fail_at_) end = *fail_at_;
                else return done(Error{"remote-server-not-found", "the NAS went away"});
            }
            std::string piece;
            for (auto at = log_->produced; at < end; ++at) piece += pattern_byte(at, seed_);
            log_->produced = end;
            done(std::move(piece));
        });
    }
    void cancel() override {
        cancelled_ = true;
        log_->cancelled = true;
    }

private:
    asio::io_context& io_;
    std::uint64_t total_;
    unsigned seed_;
    std::shared_ptr<SourceLog> log_;
    std::optional<std::uint64_t> fail_at_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    bool reading_ = false;
    bool cancelled_ = false;
};

// What a sink saw: bytes (checked against the pattern), the end.
struct Received {
    std::uint64_t bytes = 0;
    bool intact = true;
    bool ended = false;
    bool ok = false;
    std::string error;
    bool paused = false;  // set by the test through pause_after
    bool data_while_paused = false;
    std::uint64_t pause_after = UINT64_MAX;  // the sink pauses its id once this many bytes came
    std::function<void()> on_data;            // after recording
    std::function<void()> on_end;
};

// With `mux`, the sink pauses its id once r.pause_after bytes came.
oob::Sink sink_for(Received& r, unsigned seed, std::weak_ptr<OobMux> mux = {}, std::string id = {}) {
    return {[&r, seed, mux, id](std::string_view data) {
                EXPECT_FALSE(r.ended);
                if (r.paused) r.data_while_paused = true;
                for (std::size_t i = 0; i < data.size(); ++i)
                    if (data[i] != pattern_byte(r.bytes + i, seed)) r.intact = false;
                r.bytes += data.size();
                if (r.bytes >= r.pause_after && !r.paused)
                    if (auto m = mux.lock()) {
                        r.paused = true;
                        m->pause(id);
                    }
                if (r.on_data) r.on_data();
            },
            [&r](Result<void> outcome) {
                EXPECT_FALSE(r.ended) << "on_end twice";
                r.ended = true;
                r.ok = outcome.ok();
                if (!outcome) r.error = outcome.error().text;
                if (r.on_end) r.on_end();
            }};
}

struct Finished {
    bool done = false;
    bool ok = false;
    std::string error;
    std::string condition;
};

OobSender::Finished finished_into(Finished& f) {
    return [&f](Result<void> outcome) {
        EXPECT_FALSE(f.done) << "finished twice";
        f.done = true;
        f.ok = outcome.ok();
        if (!outcome) {
            f.error = outcome.error().text;
            f.condition = outcome.error().condition;
        }
    };
}

// One id from the bridge to the controller: the source's log, the bridge's
// finish, what the controller's sink got.
struct Transfer {
    std::string id;
    std::uint64_t total = 0;
    unsigned seed = 0;
    std::shared_ptr<SourceLog> log = std::make_shared<SourceLog>();
    Finished sent;
    Received got;
};

// A controller (left) and a bridge (right) joined by an in-memory
// connection, optionally secured by TLS as the OOB session's stream is.
struct MuxPair {
    asio::io_context io;
    std::shared_ptr<net::MemoryStream> left_wire, right_wire;
    std::shared_ptr<OobMux> left, right;
    std::vector<std::string> left_closed, right_closed;
    std::vector<std::string> left_unclaimed;
    std::function<void(const std::string&)> on_unclaimed;  // after recording
    unsigned next_seed = 1;

    // `relay_holds`: the bridge's bytes pass a relay that keeps that many of
    // the last ones until more come (Prosody's proxy65).
    explicit MuxPair(bool tls = false, oob::OobReceiver::Options options = {}, std::size_t relay_holds = 0) {
        std::tie(left_wire, right_wire) = net::make_memory_pair(io);
        net::ByteStreamPtr left_stream = left_wire, right_stream = right_wire;
        if (tls) {
            auto id = test_tls::make_self_signed("bridge.example");
            auto relay = std::make_shared<test_tls::Tap>(right_wire);
            relay->recording = false;
            auto client = test_tls::make_pinned_client(left_wire, id);
            auto server = test_tls::make_test_server(relay, id);
            int secured = 0;
            for (const auto& end : {client, server})
                end->handshake([&secured](Result<void> r) { secured += r.ok() ? 1 : 100; });
            run();
            EXPECT_EQ(secured, 2) << "TLS handshake failed";
            relay->hold_tail = relay_holds;  // a real one passes the small handshake flights
            left_stream = client;
            right_stream = server;
        }
        left = OobMux::create(left_stream,
                              {.on_closed = [this](const std::string& r) { left_closed.push_back(r); },
                               .on_unclaimed =
                                   [this](const std::string& id) {
                                       left_unclaimed.push_back(id);
                                       if (on_unclaimed) on_unclaimed(id);
                                   }},
                              options);
        right = OobMux::create(right_stream, {.on_closed = [this](const std::string& r) { right_closed.push_back(r); },
                                              .on_unclaimed = {}});
    }

    // The bridge starts sending `total` bytes on a fresh id (its source fails
    // at `fail_at` when set); the controller does not expect it yet.
    void send(Transfer& t, std::uint64_t total, std::optional<std::uint64_t> fail_at = {}) {
        t.id = right->next_id();
        t.total = total;
        t.seed = next_seed++;
        auto r = right->send(t.id, std::make_unique<PatternSource>(io, total, t.seed, t.log, fail_at),
                             finished_into(t.sent));
        EXPECT_TRUE(r.ok());
    }
    // The IQ result arrived: the controller expects the id (pausing its sink
    // after t.got.pause_after bytes).
    void expect(Transfer& t, std::optional<std::uint64_t> size = {}) {
        ASSERT_TRUE(left->expect(t.id, size.value_or(t.total), sink_for(t.got, t.seed, left, t.id)).ok());
    }
    void start(Transfer& t, std::uint64_t total, std::optional<std::uint64_t> fail_at = {}) {
        send(t, total, fail_at);
        expect(t);
    }
    // Both sides ended the id, all of it intact.
    static void expect_complete(const Transfer& t) {
        EXPECT_TRUE(t.sent.done && t.sent.ok) << t.sent.error;
        EXPECT_TRUE(t.got.ended && t.got.ok) << t.got.error;
        EXPECT_EQ(t.got.bytes, t.total);
        EXPECT_TRUE(t.got.intact);
    }
    // The session still carries a new id.
    void expect_still_working() {
        Transfer t;
        start(t, 5000);
        run();
        expect_complete(t);
    }

    // Runs until nothing is ready to run (timers that are not due yet wait).
    void run() {
        do io.restart();
        while (io.poll() > 0);
    }
    template <class Pred>
    bool run_until(Pred pred) {
        io.restart();
        while (!pred())
            if (io.run_one() == 0) return pred();
        return true;
    }
};

// A large file and a small result started together: the small one is done
// after at most a few chunks of the large one.
void small_and_large_started_together(MuxPair& p, std::uint64_t large) {
    Transfer big, small;
    p.start(big, large);
    p.start(small, 1000);
    std::uint64_t big_when_small_ended = 0;
    small.got.on_end = [&] { big_when_small_ended = big.got.bytes; };
    p.run();
    MuxPair::expect_complete(small);
    EXPECT_LE(big_when_small_ended, OobSender::kMaxPending);
    MuxPair::expect_complete(big);
}

}  // namespace

TEST(OobMux, CarriesIdsIntactBothWays) {
    MuxPair p;
    Transfer down;
    p.start(down, 3 * kMB + 17);
    // The other direction allocates its ids on its own: the same number is another id.
    auto up_log = std::make_shared<SourceLog>();
    Finished up_f;
    Received up;
    auto up_id = p.left->next_id();
    EXPECT_EQ(up_id, down.id);
    ASSERT_TRUE(
        p.left->send(up_id, std::make_unique<PatternSource>(p.io, 70000, 99, up_log), finished_into(up_f)).ok());
    ASSERT_TRUE(p.right->expect(up_id, 70000, sink_for(up, 99)).ok());
    p.run();
    MuxPair::expect_complete(down);
    EXPECT_TRUE(up_f.ok && up.ok && up.intact) << up.error;
    EXPECT_EQ(up.bytes, 70000u);
    EXPECT_EQ(down.log->largest_ask, oob::kMaxChunkSize);
    EXPECT_FALSE(down.log->read_while_reading);
    EXPECT_EQ(p.right->sender().active(), 0u);
    EXPECT_TRUE(p.left_closed.empty());
}

TEST(OobMux, OverTlsTransfersStayFairAndBounded) {
    MuxPair p(/*tls=*/true);
    small_and_large_started_together(p, 4 * kMB);
    Transfer stalled;
    // A reader that stops: what the sender pulls stays bounded (TLS holds a
    // little more than the bare wire).
    stalled.got.pause_after = 1;
    p.start(stalled, 100 * kMB);
    p.run();
    EXPECT_TRUE(stalled.got.paused);
    EXPECT_FALSE(stalled.sent.done);
    EXPECT_TRUE(p.left->receiver().reading_paused());
    EXPECT_LT(stalled.log->produced, 2 * kMB);
}

// The sender, once idle, pushes its tail past a relay that holds the last
// few KiB of a burst: every id completes, and later ones still do.
TEST(OobMux, IdsCompleteThroughARelayThatHoldsTheTail) {
    MuxPair p(/*tls=*/true, {}, /*relay_holds=*/8191);
    Transfer big, small;
    p.start(big, 1 * kMB + 5);
    p.start(small, 1000);
    p.run();
    MuxPair::expect_complete(small);
    MuxPair::expect_complete(big);
    p.expect_still_working();
    EXPECT_TRUE(p.left_closed.empty());
}

TEST(OobMux, EmptyIdAndIdsAreUnique) {
    MuxPair p;
    Transfer t;
    p.start(t, 0);
    EXPECT_NE(p.right->next_id(), t.id);
    p.run();
    MuxPair::expect_complete(t);
}

TEST(OobMux, RefusesBadAndDuplicateIds) {
    MuxPair p;
    Transfer t;
    Finished refused;
    Received other;
    auto source = [&] { return std::make_unique<PatternSource>(p.io, 1, 1, t.log); };
    EXPECT_EQ(p.right->send("a-1", source(), finished_into(refused)).error().condition, "bad-request");
    p.start(t, 10);
    EXPECT_EQ(p.right->send(t.id, source(), finished_into(refused)).error().condition, "conflict");
    EXPECT_EQ(p.left->expect("a b", 1, sink_for(other, 1)).error().condition, "bad-request");
    EXPECT_EQ(p.left->expect(t.id, 10, sink_for(other, 1)).error().condition, "conflict");
    p.run();
    MuxPair::expect_complete(t);
    EXPECT_FALSE(refused.done);
    EXPECT_FALSE(other.ended);
}

TEST(OobMux, ASmallResultIsNotHeldBehindALargeFile) {
    MuxPair p;
    small_and_large_started_together(p, 10 * kMB);

    // Started while a big one streams: it waits behind what is already
    // queued or on the wire, not behind the rest of the file.
    Transfer big2, small2;
    p.start(big2, 10 * kMB);
    ASSERT_TRUE(p.run_until([&] { return big2.got.bytes >= 2 * kMB; }));
    std::uint64_t big2_at_start = big2.got.bytes;
    std::uint64_t big2_when_small2_ended = 0;
    small2.got.on_end = [&] { big2_when_small2_ended = big2.got.bytes; };
    p.start(small2, 1000);
    p.run();
    MuxPair::expect_complete(small2);
    EXPECT_LE(big2_when_small2_ended - big2_at_start,
              net::MemoryPairOptions{}.max_in_flight + OobSender::kMaxPending + oob::kMaxChunkSize);
    MuxPair::expect_complete(big2);
}

TEST(OobMux, AReaderThatStopsReadingBoundsTheSendersMemory) {
    MuxPair p;
    Transfer t;
    auto& r = t.got;
    r.pause_after = 1;  // the controller's sink stops (an HTTP client that stopped reading)
    p.start(t, 100 * kMB);
    p.run();  // returns once nothing moves any more
    EXPECT_TRUE(r.paused);
    EXPECT_FALSE(r.data_while_paused);
    EXPECT_FALSE(t.sent.done);
    EXPECT_TRUE(p.left->receiver().reading_paused());
    EXPECT_LE(p.left->receiver().held(), OobReceiver::kMaxHeldPerId + oob::kMaxChunkSize);
    EXPECT_LE(p.right_wire->write_backlog(), OobSender::kMaxPending + oob::kMaxChunkSize);
    // What the source gave: what the sink took, what the receiver holds, what
    // is on the wire and what waits to be written — under a MB, not 100 MB.
    EXPECT_LT(t.log->produced, kMB);

    // Reading again, a little at a time: it moves on and stays bounded.
    for (int round = 0; round < 3; ++round) {
        r.pause_after = r.bytes + kMB;
        r.paused = false;
        p.left->resume(t.id);
        p.run();
        EXPECT_TRUE(r.paused);
        EXPECT_GE(r.bytes, (round + 1) * kMB);
        EXPECT_LT(t.log->produced, r.bytes + kMB);
    }
    EXPECT_TRUE(r.intact);
    EXPECT_FALSE(r.data_while_paused);

    // The controller gives up: cancel locally, abort on the bridge (the abort IQ).
    p.left->cancel(t.id);
    p.right->abort(t.id);
    p.run();
    EXPECT_TRUE(t.log->cancelled);
    EXPECT_TRUE(t.sent.done && !t.sent.ok);
    EXPECT_FALSE(r.ended);  // no callback after cancel
    EXPECT_FALSE(p.left->receiver().reading_paused());
    EXPECT_EQ(p.left->receiver().held(), 0u);
    p.expect_still_working();
}

TEST(OobMux, APeerThatReadsNothingBoundsTheSender) {
    MuxPair p;
    Transfer t;
    p.left_wire->pause_reading();  // the peer's whole stack stops reading
    p.send(t, 100 * kMB);
    p.run();
    EXPECT_FALSE(t.sent.done);
    EXPECT_LE(p.right_wire->write_backlog(), OobSender::kMaxPending + oob::kMaxChunkSize);
    EXPECT_LE(t.log->produced, net::MemoryPairOptions{}.max_in_flight + OobSender::kMaxPending + oob::kMaxChunkSize);
}

TEST(OobMux, ChunksBeforeTheResultAreKept) {
    MuxPair p;
    Transfer t;
    p.send(t, 100 * 1000);
    p.run();
    EXPECT_TRUE(t.sent.ok);  // everything sent, the end included
    EXPECT_EQ(p.left->receiver().held(), 100 * 1000u);
    EXPECT_FALSE(p.left->receiver().reading_paused());
    p.expect(t);
    EXPECT_EQ(t.got.bytes, 0u);  // delivered from the loop, never inside expect()
    p.run();
    MuxPair::expect_complete(t);
    EXPECT_EQ(p.left->receiver().held(), 0u);
}

TEST(OobMux, ChunksBeforeTheResultBeyondTheLimitStopReading) {
    MuxPair p;
    Transfer t, other;
    p.send(t, 8 * kMB);
    p.run();
    EXPECT_FALSE(t.sent.done);
    EXPECT_TRUE(p.left->receiver().reading_paused());
    EXPECT_GE(p.left->receiver().held(), OobReceiver::kMaxHeldPerId);
    EXPECT_LE(p.left->receiver().held(), OobReceiver::kMaxHeldPerId + oob::kMaxChunkSize);
    EXPECT_LT(t.log->produced, kMB);
    // Another id sent meanwhile waits too (the stream is shared)…
    p.start(other, 1000);
    p.run();
    EXPECT_FALSE(other.got.ended);
    // …until the result of the first arrives: then everything flows.
    p.expect(t);
    p.run();
    MuxPair::expect_complete(t);
    MuxPair::expect_complete(other);
    EXPECT_FALSE(p.left->receiver().reading_paused());
}

TEST(OobMux, TooManyUnannouncedIdsStopReadingUntilOneIsExpected) {
    MuxPair p;
    std::vector<Transfer> ts(OobReceiver::kMaxEarlyIds + 4);
    for (auto& t : ts) p.send(t, 1000);
    p.run();
    EXPECT_TRUE(p.left->receiver().reading_paused());
    EXPECT_LE(p.left->receiver().held(), OobReceiver::kMaxEarlyIds * 1000);
    for (auto& t : ts) p.expect(t);
    p.run();
    for (const auto& t : ts) MuxPair::expect_complete(t);
    EXPECT_FALSE(p.left->receiver().reading_paused());
}

TEST(OobMux, AnIdNobodyClaimsIsDroppedAtItsDeadline) {
    MuxPair p(false, {.early_deadline = std::chrono::milliseconds(20)});
    Transfer lost;
    // The controller's owner learns of the dropped id and aborts it at the
    // bridge (the abort IQ).
    p.on_unclaimed = [&](const std::string& id) { p.right->abort(id); };
    p.send(lost, 100 * kMB);  // its IQ result never reaches the controller
    ASSERT_TRUE(p.run_until([&] { return !p.left_unclaimed.empty(); }));
    EXPECT_EQ(p.left_unclaimed, std::vector<std::string>{lost.id});
    EXPECT_EQ(p.left->receiver().held(), 0u);
    p.run();
    EXPECT_TRUE(lost.sent.done && !lost.sent.ok);
    EXPECT_TRUE(lost.log->cancelled);
    EXPECT_FALSE(p.left->receiver().reading_paused());
    EXPECT_FALSE(lost.got.ended);
    p.expect_still_working();
    EXPECT_EQ(p.left_unclaimed.size(), 1u);  // a claimed id is never reported
}

TEST(OobMux, APausedSinkGetsNothingUntilResumed) {
    MuxPair p;
    Transfer t;
    auto& r = t.got;
    r.pause_after = 100 * 1000;
    p.start(t, 2 * kMB);
    p.run();
    EXPECT_TRUE(r.paused);
    EXPECT_FALSE(r.ended);
    std::uint64_t at_pause = r.bytes;
    EXPECT_LT(at_pause, 100 * 1000 + oob::kMaxChunkSize);
    p.run();
    EXPECT_EQ(r.bytes, at_pause);
    r.pause_after = UINT64_MAX;
    r.paused = false;
    p.left->resume(t.id);
    p.run();
    EXPECT_FALSE(r.data_while_paused);
    MuxPair::expect_complete(t);
}

TEST(OobMux, APausedSinkHoldsUpOthersOnlyBeyondItsBound) {
    MuxPair p;
    Transfer paused, other;
    paused.got.pause_after = 1;
    p.start(paused, OobReceiver::kMaxHeldPerId - 1000);
    p.start(other, 3 * kMB);
    p.run();
    MuxPair::expect_complete(other);
    EXPECT_TRUE(paused.sent.ok);
    EXPECT_FALSE(paused.got.ended);
    EXPECT_FALSE(p.left->receiver().reading_paused());
    paused.got.pause_after = UINT64_MAX;
    paused.got.paused = false;
    p.left->resume(paused.id);
    p.run();
    MuxPair::expect_complete(paused);
}

TEST(OobMux, AbortMidIdEndsItShortOnBothSides) {
    MuxPair p;
    Transfer t;
    p.start(t, 10 * kMB);
    ASSERT_TRUE(p.run_until([&] { return t.got.bytes >= 300 * 1000; }));
    p.right->abort(t.id);  // the bridge got the abort IQ
    EXPECT_FALSE(t.sent.done);  // reported from the loop
    p.run();
    EXPECT_TRUE(t.log->cancelled);
    EXPECT_TRUE(t.sent.done && !t.sent.ok);
    EXPECT_NE(t.sent.error.find("aborted"), std::string::npos) << t.sent.error;
    EXPECT_TRUE(t.got.ended && !t.got.ok);
    EXPECT_NE(t.got.error.find("of 10485760 bytes"), std::string::npos) << t.got.error;
    EXPECT_TRUE(t.got.intact);
    EXPECT_LT(t.got.bytes, 10 * kMB);
    p.right->abort(t.id);  // again: nothing
    p.expect_still_working();
}

TEST(OobMux, ASourceErrorEndsTheIdShort) {
    MuxPair p;
    Transfer t;
    p.start(t, 5 * kMB, 300 * 1000);
    p.run();
    EXPECT_TRUE(t.sent.done && !t.sent.ok);
    EXPECT_EQ(t.sent.condition, "remote-server-not-found");
    EXPECT_NE(t.sent.error.find("the NAS went away"), std::string::npos) << t.sent.error;
    EXPECT_TRUE(t.got.ended && !t.got.ok);
    EXPECT_EQ(t.got.bytes, 300 * 1000u);
    EXPECT_NE(t.got.error.find("ended after 300000 of 5242880 bytes"), std::string::npos) << t.got.error;
    p.expect_still_working();
}

TEST(OobMux, MoreThanAnnouncedFailsTheId) {
    MuxPair p;
    Transfer t;
    p.send(t, 200 * 1000);
    p.expect(t, 1000);
    p.run();
    EXPECT_TRUE(t.got.ended && !t.got.ok);
    EXPECT_LE(t.got.bytes, 1000u);
    EXPECT_NE(t.got.error.find("more than the 1000 bytes announced"), std::string::npos) << t.got.error;
    EXPECT_EQ(p.left->receiver().held(), 0u);
    p.expect_still_working();
}

TEST(OobMux, TheConnectionClosingMidIdEndsEveryOpenId) {
    MuxPair p;
    Transfer down;
    p.start(down, 10 * kMB);
    auto up_log = std::make_shared<SourceLog>();
    Finished up_f;
    Received up;
    auto up_id = p.left->next_id();
    ASSERT_TRUE(
        p.left->send(up_id, std::make_unique<PatternSource>(p.io, 10 * kMB, 99, up_log), finished_into(up_f)).ok());
    ASSERT_TRUE(p.right->expect(up_id, 10 * kMB, sink_for(up, 99)).ok());
    ASSERT_TRUE(p.run_until([&] { return down.got.bytes >= 200 * 1000 && up.bytes >= 200 * 1000; }));
    p.right_wire->abort();  // the bridge's end resets (its TLS failed, its process died)
    p.run();
    // The controller learns it: its download and its upload end with an error.
    ASSERT_EQ(p.left_closed.size(), 1u);
    EXPECT_NE(p.left_closed[0], "");
    EXPECT_TRUE(down.got.ended && !down.got.ok);
    EXPECT_NE(down.got.error.find("OOB stream"), std::string::npos) << down.got.error;
    EXPECT_TRUE(up_f.done && !up_f.ok);
    EXPECT_TRUE(up_log->cancelled);
    EXPECT_TRUE(p.left->closed());
    Received late;
    auto refused = p.left->expect("99", 10, sink_for(late, 1));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().condition, "service-unavailable");
    EXPECT_EQ(p.left->expect(down.id, 10, sink_for(late, 1)).error().condition, "service-unavailable");
    Finished late_f;
    EXPECT_FALSE(p.left->send("99", std::make_unique<PatternSource>(p.io, 1, 1, up_log), finished_into(late_f)).ok());
}

TEST(OobMux, ThePeerClosingCleanlyEndsOpenIdsToo) {
    MuxPair p;
    Received r;
    ASSERT_TRUE(p.left->expect("77", 5000, sink_for(r, 1)).ok());
    p.right->close();  // the bridge ends the session
    p.run();
    ASSERT_EQ(p.left_closed.size(), 1u);
    EXPECT_EQ(p.left_closed[0], "");
    EXPECT_TRUE(r.ended && !r.ok);
    EXPECT_TRUE(p.right_closed.empty());  // its own close is not reported to it
}

TEST(OobMux, ClosingTheMuxEndsItsOwnIds) {
    MuxPair p;
    Transfer t;
    Received r;
    p.start(t, 10 * kMB);
    ASSERT_TRUE(p.right->expect("5", 100, sink_for(r, 1)).ok());
    p.run_until([&] { return t.log->produced > 0; });
    p.right->close();
    EXPECT_FALSE(t.sent.done);  // reported from the loop
    EXPECT_FALSE(r.ended);
    p.run();
    EXPECT_TRUE(t.sent.done && !t.sent.ok);
    EXPECT_TRUE(t.log->cancelled);
    EXPECT_TRUE(r.ended && !r.ok);
}

TEST(OobMux, BrokenFramingClosesTheSession) {
    asio::io_context io;
    auto [raw, wire] = net::make_memory_pair(io);
    std::vector<std::string> closed;
    auto mux =
        OobMux::create(wire, {.on_closed = [&](const std::string& r) { closed.push_back(r); }, .on_unclaimed = {}});
    Received r;
    ASSERT_TRUE(mux->expect("1", 100, sink_for(r, 0)).ok());
    std::vector<std::string> raw_closed;
    raw->set_handlers({[](std::string_view) {}, [&](const std::string& reason) { raw_closed.push_back(reason); }, {}});
    raw->start();
    std::string bytes;
    oob::append_chunk(bytes, "1", std::string(1, pattern_byte(0, 0)));
    bytes += "5 1\r\nabcde!!";  // data longer than its size
    raw->write(bytes);
    io.run();
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_NE(closed[0].find("OOB framing"), std::string::npos) << closed[0];
    EXPECT_TRUE(r.ended && !r.ok);
    EXPECT_EQ(r.bytes, 6u);
    ASSERT_EQ(raw_closed.size(), 1u);  // the session's stream was closed
}

TEST(OobMux, DroppingTheMuxInsideACallbackIsSafe) {
    MuxPair p;
    Transfer t;
    t.got.on_data = [&] {
        if (t.got.bytes > 100 * 1000) p.left.reset();
    };
    p.start(t, kMB);
    p.run();
    EXPECT_FALSE(p.left);
    EXPECT_FALSE(t.got.ended);  // no callbacks after the owner dropped it
    EXPECT_TRUE(t.sent.done);   // the bridge saw the connection go
    EXPECT_FALSE(t.sent.ok);
}
