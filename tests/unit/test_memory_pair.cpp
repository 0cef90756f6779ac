// The in-memory ByteStream pair keeps the contract of a real connection:
// order, asynchronous delivery, pause/resume, drain, the bound on bytes in
// flight, graceful close (with its deadline) and abort.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "xmpp/net/memory_pair.hpp"

using namespace xpmn::net;

namespace {

struct Reader {
    std::string data;
    std::vector<std::string> closed;
    int drained = 0;

    ByteStream::Handlers handlers() {
        return {[this](std::string_view d) { data += d; },
                [this](const std::string& r) { closed.push_back(r); },
                [this] { ++drained; }};
    }
};

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
    return s;
}

}  // namespace

TEST(MemoryPair, DeliversBothWaysInOrderAndAsynchronously) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io);
    Reader ra, rb;
    a->set_handlers(ra.handlers());
    b->set_handlers(rb.handlers());
    a->start();
    b->start();
    a->write("hello ");
    a->write("world");
    b->write("back");
    EXPECT_EQ(rb.data, "");  // never from inside write()
    io.run();
    EXPECT_EQ(rb.data, "hello world");
    EXPECT_EQ(ra.data, "back");
    EXPECT_EQ(a->write_calls(), 2u);
    EXPECT_EQ(a->write_backlog(), 0u);
    EXPECT_GE(ra.drained, 1);
    EXPECT_TRUE(ra.closed.empty());
}

TEST(MemoryPair, NothingIsDeliveredBeforeStart) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io);
    Reader rb;
    b->set_handlers(rb.handlers());
    a->write("early");
    io.run();
    EXPECT_EQ(rb.data, "");
    b->start();
    io.restart();
    io.run();
    EXPECT_EQ(rb.data, "early");
}

TEST(MemoryPair, PausedReaderFillsTheWireThenTheWritersBacklog) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io, {.max_in_flight = 1000});
    Reader ra, rb;
    a->set_handlers(ra.handlers());
    b->set_handlers(rb.handlers());
    b->pause_reading();
    b->start();
    std::string sent = pattern(5000);
    a->write(sent);
    io.run();
    EXPECT_EQ(rb.data, "");
    EXPECT_EQ(a->in_flight(), 1000u);
    EXPECT_EQ(a->write_backlog(), 4000u);
    EXPECT_EQ(ra.drained, 0);

    b->resume_reading();
    io.restart();
    io.run();
    EXPECT_EQ(rb.data, sent);
    EXPECT_EQ(a->write_backlog(), 0u);
    EXPECT_EQ(ra.drained, 1);
}

TEST(MemoryPair, PauseInsideOnDataStopsFurtherDelivery) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io);
    std::string got;
    b->set_handlers({[&, b = b.get()](std::string_view d) {
                         got += d;
                         b->pause_reading();
                     },
                     nullptr, nullptr});
    b->start();
    a->write(pattern(3 * MemoryStream::kMaxDelivery));
    io.run();
    EXPECT_EQ(got.size(), MemoryStream::kMaxDelivery);
    b->resume_reading();
    io.restart();
    io.run();
    EXPECT_EQ(got.size(), 2 * MemoryStream::kMaxDelivery);
}

TEST(MemoryPair, CloseDeliversQueuedBytesThenEnds) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io, {.max_in_flight = 10});
    Reader ra, rb;
    a->set_handlers(ra.handlers());
    b->set_handlers(rb.handlers());
    b->start();
    a->write(pattern(100));
    a->close();
    io.run();
    EXPECT_EQ(rb.data, pattern(100));
    ASSERT_EQ(rb.closed.size(), 1u);
    EXPECT_EQ(rb.closed[0], "");
    EXPECT_TRUE(ra.closed.empty());  // no callbacks after close()
}

TEST(MemoryPair, CloseGivesUpAfterItsDeadlineWhenThePeerDoesNotRead) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io, {.max_in_flight = 10, .close_deadline = std::chrono::milliseconds(20)});
    Reader rb;
    b->set_handlers(rb.handlers());
    b->pause_reading();
    b->start();
    a->write(pattern(100));
    a->close();
    io.run();  // returns: the deadline ended the wait
    ASSERT_EQ(rb.closed.size(), 1u);
    EXPECT_EQ(rb.closed[0], "connection reset by peer");
    EXPECT_EQ(a->write_backlog(), 0u);
}

TEST(MemoryPair, AbortResetsThePeerAtOnceAndDropsTheQueue) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io, {.max_in_flight = 10});
    Reader ra, rb;
    a->set_handlers(ra.handlers());
    b->set_handlers(rb.handlers());
    b->pause_reading();
    b->start();
    a->write(pattern(100));
    io.run();
    a->abort();
    EXPECT_EQ(a->write_backlog(), 0u);
    io.restart();
    io.run();
    ASSERT_EQ(rb.closed.size(), 1u);
    EXPECT_EQ(rb.closed[0], "connection reset by peer");
    EXPECT_TRUE(ra.closed.empty());
    // Writing to an end whose peer is gone loses the bytes without growing.
    b.reset();
    auto [c, d] = make_memory_pair(io);
    d.reset();
    c->write("x");
    io.restart();
    io.run();
    EXPECT_EQ(c->write_backlog(), 0u);
}

TEST(MemoryPair, DroppingAnEndResetsThePeer) {
    boost::asio::io_context io;
    auto [a, b] = make_memory_pair(io);
    Reader rb;
    b->set_handlers(rb.handlers());
    b->start();
    a.reset();
    io.run();
    ASSERT_EQ(rb.closed.size(), 1u);
    EXPECT_EQ(rb.closed[0], "connection reset by peer");
}
