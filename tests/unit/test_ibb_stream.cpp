// In-Band Bytestreams (XEP-0047) as a net::ByteStream between two routers
// through an in-memory server: megabytes both ways, seq wrapping at 65535,
// the errors a peer gets (seq out of order or repeated, bad base64, chunk
// over the block-size, unknown sid), block-size negotiation (XEP-0261), and
// back-pressure: a paused reader stops a sender after its window, and a
// sender that ignores it is cut off at a bound.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <random>

#include "jingle_test_server.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/core/base64.hpp"
#include "xmpp/jingle/ibb_registry.hpp"
#include "xmpp/jingle/ibb_transport.hpp"

using namespace xpmn;
using namespace xpmn::jingle;

namespace {

constexpr const char* kA = "home@example.org/phone";
constexpr const char* kB = "home@example.org/upnp-1";

std::string random_bytes(std::size_t n) {
    std::mt19937 rng(42);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

struct End {
    IbbStreamPtr stream;
    std::string received;
    std::optional<std::string> closed;  // the on_closed reason
    std::size_t drained = 0;

    void attach() {
        stream->set_handlers({.on_data = [this](std::string_view d) { received += d; },
                              .on_closed = [this](const std::string& r) { closed = r; },
                              .on_drained = [this] { ++drained; }});
        stream->start();
    }
};

struct IbbTest : ::testing::Test {
    boost::asio::io_context io;
    jingletest::MemoryServer server{io};
    client::StanzaRouter& ra = server.connect(kA);
    client::StanzaRouter& rb = server.connect(kB);
    IbbRegistry a{io, ra};
    IbbRegistry b{io, rb};
    std::vector<xml::Element> data_iqs;  // <data/> sets on the wire

    IbbTest() {
        server.tap = [this](const xml::Element& e) {
            if (e.attr_or("type") == "set" && e.child("data", kIbbNs)) data_iqs.push_back(e);
        };
    }
    void run() {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    // A opens, B accepts: both ends attached and open.
    std::pair<End, End> open_pair(IbbStream::Options options = {}) {
        End ea, eb;
        eb.stream = *b.create(Jid::must_parse(kA), "s1", options);
        ea.stream = *a.create(Jid::must_parse(kB), "s1", options);
        std::optional<Result<void>> opened;
        ea.stream->open([&](Result<void> r) { opened = r; });
        run();
        EXPECT_TRUE(opened && *opened);
        return {std::move(ea), std::move(eb)};
    }
};

// A peer driving IBB by hand against B's stream.
struct RawIbb {
    RawIbb(jingletest::MemoryServer& server, const char* jid) : router(server.connect(jid)) {}
    void send(const char* name, std::initializer_list<std::pair<const char*, std::string>> attrs, std::string text = {}) {
        xml::Element e(name, kIbbNs);
        for (const auto& [k, v] : attrs) e.set_attr(k, v);
        if (!text.empty()) e.add_text(text);
        auto iq = stanza::iq("set", kB);
        iq.add_child(std::move(e));
        router.send_iq(std::move(iq), std::chrono::seconds(60),
                       [this](const client::IqResponse& r) { responses.push_back(r); });
    }
    void data(int seq, std::string bytes) { send("data", {{"seq", std::to_string(seq)}, {"sid", "r1"}}, base64_encode(bytes)); }
    client::StanzaRouter& router;
    std::vector<client::IqResponse> responses;
};

TEST_F(IbbTest, MegabytesBothWaysWithBoundedBacklog) {
    auto [ea, eb] = open_pair({.block_size = 16384, .window = 4});
    ea.attach();
    eb.attach();
    const auto big = random_bytes(8 << 20), small = random_bytes(1 << 20);
    // Producers that write 64 KiB at a time, the next only once drained.
    std::size_t sent_a = 0, sent_b = 0, max_backlog = 0;
    auto produce = [&](End& e, const std::string& payload, std::size_t& sent) {
        if (sent == payload.size()) return;
        std::size_t n = std::min<std::size_t>(64 * 1024, payload.size() - sent);
        e.stream->write(payload.substr(sent, n));
        sent += n;
        max_backlog = std::max(max_backlog, e.stream->write_backlog());
    };
    ea.stream->set_handlers({.on_data = [&](std::string_view d) { ea.received += d; },
                             .on_closed = [&](const std::string& r) { ea.closed = r; },
                             .on_drained = [&] { produce(ea, big, sent_a); }});
    eb.stream->set_handlers({.on_data = [&](std::string_view d) { eb.received += d; },
                             .on_closed = [&](const std::string& r) { eb.closed = r; },
                             .on_drained = [&] { produce(eb, small, sent_b); }});
    produce(ea, big, sent_a);
    produce(eb, small, sent_b);
    run();
    EXPECT_EQ(eb.received.size(), big.size());
    EXPECT_TRUE(eb.received == big);
    EXPECT_TRUE(ea.received == small);
    EXPECT_LE(max_backlog, 64u * 1024);
    EXPECT_EQ(ea.stream->write_backlog(), 0u);
    ea.stream->close();
    run();
    ASSERT_TRUE(eb.closed);
    EXPECT_EQ(*eb.closed, "");  // a clean end
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(b.size(), 0u);
}

TEST_F(IbbTest, SeqWrapsFrom65535ToZero) {
    auto [ea, eb] = open_pair({.block_size = 16, .window = 4, .first_seq = 65530});
    ea.attach();
    eb.attach();
    auto payload = random_bytes(16 * 20);
    ea.stream->write(payload);
    run();
    EXPECT_TRUE(eb.received == payload);
    EXPECT_FALSE(eb.closed);
    std::vector<int> seqs;
    for (const auto& iq : data_iqs) seqs.push_back(std::stoi(iq.child("data", kIbbNs)->attr_or("seq")));
    ASSERT_EQ(seqs.size(), 20u);
    EXPECT_EQ(seqs[5], 65535);
    EXPECT_EQ(seqs[6], 0);
    EXPECT_EQ(seqs[19], 13);
}

struct RawPeerTest : IbbTest {
    RawIbb raw{server, "friend@example.net/phone"};
    End eb;
    RawPeerTest() {
        eb.stream = *b.create(Jid::must_parse("friend@example.net/phone"), "r1", {.block_size = 8});
        raw.send("open", {{"block-size", "8"}, {"sid", "r1"}, {"stanza", "iq"}});
        run();
        eb.attach();
    }
    // B's stream ended with an error and told the peer with <close/>.
    void expect_closed_with(const char* condition) {
        ASSERT_FALSE(raw.responses.empty());
        EXPECT_EQ(raw.responses.back().error().condition, condition);
        EXPECT_FALSE(raw.responses.back().error().text.empty());
        ASSERT_TRUE(eb.closed);
        EXPECT_FALSE(eb.closed->empty());
        EXPECT_EQ(b.size(), 0u);
    }
    // seq 0, then `second` instead of 1: the second chunk is not delivered.
    void wrong_second_seq(int second) {
        raw.data(0, "abc");
        raw.data(second, "def");
        run();
        EXPECT_EQ(eb.received, "abc");
        expect_closed_with("unexpected-request");
    }
};

TEST_F(RawPeerTest, ASkippedSeqClosesTheStream) { wrong_second_seq(2); }
TEST_F(RawPeerTest, ARepeatedSeqClosesTheStream) { wrong_second_seq(0); }

TEST_F(RawPeerTest, BadBase64ClosesTheStream) {
    raw.send("data", {{"seq", "0"}, {"sid", "r1"}}, "=AAA");
    run();
    EXPECT_EQ(eb.received, "");
    expect_closed_with("bad-request");
}

TEST_F(RawPeerTest, AChunkOverTheBlockSizeClosesTheStream) {
    raw.data(0, "123456789");
    run();
    expect_closed_with("bad-request");
}

TEST_F(RawPeerTest, UnknownSidsAndUnnegotiatedOpensAreRefused) {
    raw.send("data", {{"seq", "0"}, {"sid", "nope"}}, base64_encode("x"));
    raw.send("close", {{"sid", "nope"}});
    raw.send("open", {{"block-size", "8"}, {"sid", "nope"}});
    run();
    ASSERT_EQ(raw.responses.size(), 4u);  // the first was the accepted <open/>
    EXPECT_EQ(raw.responses[1].error().condition, "item-not-found");
    EXPECT_EQ(raw.responses[2].error().condition, "item-not-found");
    EXPECT_EQ(raw.responses[3].error().condition, "not-acceptable");
    EXPECT_FALSE(eb.closed);
}

TEST_F(RawPeerTest, ThePeersCloseEndsTheStreamCleanlyAfterItsData) {
    eb.stream->pause_reading();
    raw.data(0, "abc");
    raw.send("close", {{"sid", "r1"}});
    run();
    EXPECT_EQ(eb.received, "");  // held while paused: EOF waits behind it
    EXPECT_FALSE(eb.closed);
    eb.stream->resume_reading();
    run();
    EXPECT_EQ(eb.received, "abc");
    ASSERT_TRUE(eb.closed);
    EXPECT_EQ(*eb.closed, "");
}

TEST_F(RawPeerTest, ASenderIgnoringAPausedReaderIsCutOffAtTheBound) {
    // IbbStream::Options::max_held defaults to 128 KiB; 8-byte blocks: many IQs.
    eb.stream->pause_reading();
    int seq = 0;
    for (; seq < 128 * 1024 / 8 + 2; ++seq) raw.data(seq, "12345678");
    run();
    EXPECT_EQ(eb.received, "");
    expect_closed_with("item-not-found");  // the held ones are refused once the stream is gone
    bool constraint = false;
    for (const auto& r : raw.responses) constraint |= !r.ok() && r.error().condition == "resource-constraint";
    EXPECT_TRUE(constraint);
}

TEST_F(IbbTest, APausedReaderStopsTheSenderAfterItsWindow) {
    auto [ea, eb] = open_pair({.block_size = 1024, .window = 3});
    ea.attach();
    eb.attach();
    eb.stream->pause_reading();
    const auto payload = random_bytes(256 * 1024);
    ea.stream->write(payload);  // write() never refuses: the backlog says how much waits
    run();
    // Only `window` data IQs left; their results wait for the reader.
    EXPECT_EQ(data_iqs.size(), 3u);
    EXPECT_EQ(eb.received.size(), 0u);
    EXPECT_EQ(ea.stream->write_backlog(), payload.size());
    EXPECT_EQ(ea.drained, 0u);
    eb.stream->resume_reading();
    run();
    EXPECT_TRUE(eb.received == payload);
    EXPECT_EQ(ea.stream->write_backlog(), 0u);
    EXPECT_EQ(ea.drained, 1u);
}

TEST_F(IbbTest, ThePeersAbortEndsTheStream) {
    auto [ea, eb] = open_pair();
    ea.attach();
    eb.stream->abort();  // B forgets it: A's next data gets item-not-found
    ea.stream->write("hello");
    run();
    ASSERT_TRUE(ea.closed);
    // B's abort sent <close/>: A ended cleanly, before writing into a dead stream.
    EXPECT_EQ(*ea.closed, "");
}

TEST_F(IbbTest, DataForAForgottenStreamFailsTheWriter) {
    auto [ea, eb] = open_pair();
    ea.attach();
    server.drop = [](const xml::Element& e) { return e.child("close", kIbbNs) != nullptr; };  // lost <close/>
    eb.stream->abort();
    run();
    ea.stream->write("hello");
    run();
    ASSERT_TRUE(ea.closed);
    EXPECT_NE(ea.closed->find("item-not-found"), std::string::npos);
}

TEST_F(IbbTest, CloseFlushesQueuedBytesFirst) {
    auto [ea, eb] = open_pair({.block_size = 512, .window = 1});
    eb.attach();
    auto payload = random_bytes(10000);
    ea.stream->write(payload);
    ea.stream->close();
    ea.stream.reset();  // the owner lets go: the flush goes on
    run();
    EXPECT_TRUE(eb.received == payload);
    ASSERT_TRUE(eb.closed);
    EXPECT_EQ(*eb.closed, "");
}

TEST_F(IbbTest, TheTransportNegotiatesTheBlockSizeDown) {
    auto offer = IbbTransport::offer(a, Jid::must_parse(kB), {.block_size = 65535});
    EXPECT_EQ(offer->block_size(), IbbStream::kMaxBlockSize);
    auto answer = IbbTransport::answer(b, Jid::must_parse(kA), offer->element(), {.block_size = 2048});
    ASSERT_TRUE(answer);
    EXPECT_EQ((*answer)->block_size(), 2048u);
    auto raised = (*answer)->element();
    raised.set_attr("block-size", "65535");
    EXPECT_FALSE(offer->accepted(raised));
    ASSERT_TRUE(offer->accepted((*answer)->element()));
    EXPECT_EQ(offer->block_size(), 2048u);
    // The same sid again with that peer is refused.
    EXPECT_EQ(IbbTransport::answer(b, Jid::must_parse(kA), offer->element(), {}).error().condition, "conflict");

    std::optional<Result<net::ByteStreamPtr>> sa, sb;
    (*answer)->connect([&](Result<net::ByteStreamPtr> r) { sb = std::move(r); });
    offer->connect([&](Result<net::ByteStreamPtr> r) { sa = std::move(r); });
    run();
    ASSERT_TRUE(sa && *sa && sb && *sb);
    std::string got;
    (**sb)->set_handlers({.on_data = [&](std::string_view d) { got += d; }, .on_closed = {}, .on_drained = {}});
    (**sb)->start();
    (**sa)->write(random_bytes(5000));
    run();
    EXPECT_EQ(got, random_bytes(5000));
    // Each data IQ carried at most the negotiated 2048 bytes.
    for (const auto& iq : data_iqs)
        EXPECT_LE(base64_decode(iq.child("data", kIbbNs)->text())->size(), 2048u);
}

TEST_F(IbbTest, AnOpenOverTheNegotiatedBlockSizeIsAResourceConstraint) {
    auto eb = *b.create(Jid::must_parse(kA), "s1", {.block_size = 1024});
    auto ea = *a.create(Jid::must_parse(kB), "s1", {.block_size = 4096});
    std::optional<Result<void>> opened;
    ea->open([&](Result<void> r) { opened = r; });
    run();
    ASSERT_TRUE(opened);
    ASSERT_FALSE(*opened);
    EXPECT_EQ(opened->error().condition, "resource-constraint");
}

TEST_F(IbbTest, AResponderWhoseOpenNeverComesTimesOut) {
    auto offer = IbbTransport::offer(a, Jid::must_parse(kB), {});
    auto answer = *IbbTransport::answer(b, Jid::must_parse(kA), offer->element(), {});
    answer->open_timeout = std::chrono::milliseconds(10);
    std::optional<Result<net::ByteStreamPtr>> got;
    answer->connect([&](Result<net::ByteStreamPtr> r) { got = std::move(r); });
    io.restart();
    while (!got && io.run_one() > 0) {
    }
    ASSERT_TRUE(got);
    EXPECT_EQ(got->error().condition, "remote-server-timeout");
    EXPECT_EQ(b.size(), 0u);
}

}  // namespace
