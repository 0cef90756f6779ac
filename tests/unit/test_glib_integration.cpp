// GlibIntegration / FdWatch: GLib sources dispatched from io_context::run()
// on one thread (timeouts, fd watches, idles, nested additions, teardown).
// Each test uses its own GMainContext so tests are isolated.
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bridge/loop/fd_watch.hpp"
#include "bridge/loop/glib_integration.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using xpmn::loop::FdWatch;
using xpmn::loop::GlibIntegration;

namespace {

// A GSource callback that calls a std::function (owned by the source).
using Fn = std::function<gboolean()>;

gboolean call_fn(gpointer data) { return (*static_cast<Fn*>(data))(); }
void free_fn(gpointer data) { delete static_cast<Fn*>(data); }

guint attach(GSource* src, GMainContext* ctx, Fn fn) {
    g_source_set_callback(src, call_fn, new Fn(std::move(fn)), free_fn);
    guint id = g_source_attach(src, ctx);
    g_source_unref(src);
    return id;
}

guint add_timeout(GMainContext* ctx, guint ms, Fn fn) {
    return attach(g_timeout_source_new(ms), ctx, std::move(fn));
}

guint add_idle(GMainContext* ctx, Fn fn) { return attach(g_idle_source_new(), ctx, std::move(fn)); }

using FdFn = std::function<gboolean(int, GIOCondition)>;
gboolean call_fd_fn(gint fd, GIOCondition cond, gpointer data) {
    return (*static_cast<FdFn*>(data))(fd, cond);
}
void free_fd_fn(gpointer data) { delete static_cast<FdFn*>(data); }

guint add_fd_watch(GMainContext* ctx, int fd, GIOCondition cond, FdFn fn) {
    GSource* src = g_unix_fd_source_new(fd, cond);
    g_source_set_callback(src, G_SOURCE_FUNC(call_fd_fn), new FdFn(std::move(fn)),
                          free_fd_fn);
    guint id = g_source_attach(src, ctx);
    g_source_unref(src);
    return id;
}

struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        r = p[0];
        w = p[1];
    }
    ~Pipe() { close_all(); }
    void close_all() {
        if (r >= 0) ::close(r);
        if (w >= 0) ::close(w);
        r = w = -1;
    }
};

class GlibIntegrationTest : public ::testing::Test {
protected:
    void SetUp() override { ctx = GlibIntegration::new_context(); }
    void TearDown() override {
        // Destroys the sources still attached (and their callbacks' data).
        g_main_context_unref(ctx);
    }

    // Runs the io_context with a watchdog: fails instead of hanging.
    void run(std::chrono::milliseconds limit = 5000ms) {
        watchdog_fired = false;
        watchdog.expires_after(limit);
        watchdog.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            watchdog_fired = true;
            io.stop();
        });
        io.run();
        watchdog.cancel();  // its handler runs (aborted) in a later run, or never
        io.restart();
        EXPECT_FALSE(watchdog_fired) << "watchdog: the test did not finish within "
                                     << limit.count() << " ms";
    }

    asio::io_context io;
    asio::steady_timer watchdog{io};
    bool watchdog_fired = false;
    GMainContext* ctx = nullptr;
};

}  // namespace

// (a) A 50 ms GLib timeout fires inside io_context::run() and stops it.
TEST_F(GlibIntegrationTest, TimeoutFiresAndCanStopIoContext) {
    GlibIntegration glib(io, ctx);
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration elapsed{};
    int calls = 0;
    add_timeout(ctx, 50, [&] {
        ++calls;
        elapsed = std::chrono::steady_clock::now() - start;
        io.stop();
        return G_SOURCE_REMOVE;
    });
    run();
    EXPECT_EQ(calls, 1);
    EXPECT_GE(elapsed, 49ms);
    EXPECT_LT(elapsed, 1000ms);
}

// (b) A GLib fd watch on a pipe fires when an Asio timer writes to the pipe.
TEST_F(GlibIntegrationTest, FdWatchFiresWhenAsioTimerWritesToPipe) {
    GlibIntegration glib(io, ctx);
    Pipe pipe;
    std::string got;
    add_fd_watch(ctx, pipe.r, G_IO_IN, [&](int fd, GIOCondition cond) {
        EXPECT_TRUE(cond & G_IO_IN);
        char buf[64];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        io.stop();
        return G_SOURCE_REMOVE;
    });
    asio::steady_timer t(io, 30ms);
    t.async_wait([&](const boost::system::error_code& ec) {
        ASSERT_FALSE(ec);
        ASSERT_EQ(::write(pipe.w, "hello", 5), 5);
    });
    run();
    EXPECT_EQ(got, "hello");
}

// (c) An idle source runs, and sources added from inside GLib callbacks (an
// idle and a timeout) run too: the context is re-prepared after dispatch.
TEST_F(GlibIntegrationTest, IdleAndSourcesAddedFromCallbacksRun) {
    GlibIntegration glib(io, ctx);
    std::vector<std::string> order;
    add_idle(ctx, [&] {
        order.push_back("idle");
        return G_SOURCE_REMOVE;
    });
    add_timeout(ctx, 10, [&] {
        order.push_back("timeout");
        add_idle(ctx, [&] {
            order.push_back("nested-idle");
            add_timeout(ctx, 20, [&] {
                order.push_back("nested-timeout");
                io.stop();
                return G_SOURCE_REMOVE;
            });
            return G_SOURCE_REMOVE;
        });
        return G_SOURCE_REMOVE;
    });
    run();
    EXPECT_EQ(order,
              (std::vector<std::string>{"idle", "timeout", "nested-idle", "nested-timeout"}));
}

// (d) Asio handlers and GLib callbacks interleave on one thread.
TEST_F(GlibIntegrationTest, AsioAndGlibInterleaveOnOneThread) {
    GlibIntegration glib(io, ctx);
    const auto me = std::this_thread::get_id();
    std::vector<char> seq;  // 'g' GLib, 'a' Asio
    int glib_calls = 0, asio_calls = 0;
    bool all_same_thread = true;
    auto maybe_stop = [&] {
        if (glib_calls >= 10 && asio_calls >= 10) io.stop();
    };
    add_timeout(ctx, 3, [&] {
        all_same_thread &= std::this_thread::get_id() == me;
        seq.push_back('g');
        ++glib_calls;
        maybe_stop();
        return glib_calls < 10 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
    });
    asio::steady_timer t(io);
    std::function<void()> tick = [&] {
        t.expires_after(4ms);
        t.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            all_same_thread &= std::this_thread::get_id() == me;
            seq.push_back('a');
            ++asio_calls;
            maybe_stop();
            if (asio_calls < 10) tick();
        });
    };
    tick();
    run();
    EXPECT_TRUE(all_same_thread);
    EXPECT_EQ(glib_calls, 10);
    EXPECT_EQ(asio_calls, 10);
    // Interleaved: neither side ran all of its events before the other began.
    const std::string s(seq.begin(), seq.end());
    EXPECT_NE(s.find("ga"), std::string::npos) << s;
    EXPECT_NE(s.find("ag"), std::string::npos) << s;
}

// (e) Destroying the integration with sources pending: no crash, no leak
// (ASan), and the sources no longer run from the io_context.
TEST_F(GlibIntegrationTest, DestroyWithPendingSources) {
    Pipe pipe;
    int calls = 0;
    auto glib = std::make_unique<GlibIntegration>(io, ctx);
    add_timeout(ctx, 10'000, [&] { return ++calls, G_SOURCE_CONTINUE; });
    add_timeout(ctx, 1, [&] { return ++calls, G_SOURCE_CONTINUE; });
    add_fd_watch(ctx, pipe.r, G_IO_IN, [&](int, GIOCondition) { return ++calls, G_SOURCE_CONTINUE; });
    io.run_for(30ms);  // some iterations, then pending waits
    EXPECT_GT(calls, 0);
    glib.reset();
    io.restart();
    ASSERT_EQ(::write(pipe.w, "x", 1), 1);  // would wake the fd watch
    const int before = calls;
    io.run_for(30ms);  // cancelled operations complete harmlessly
    EXPECT_EQ(calls, before);
    EXPECT_TRUE(io.stopped()) << "no work may remain once the integration is gone";
    // The context is free again: a new integration picks the sources up.
    io.restart();
    GlibIntegration again(io, ctx);
    io.run_for(30ms);
    EXPECT_GT(calls, before);
}

// (e') Destroying the integration from inside a GLib callback.
TEST_F(GlibIntegrationTest, DestroyFromInsideGlibCallback) {
    auto glib = std::make_unique<GlibIntegration>(io, ctx);
    int after = 0;
    add_timeout(ctx, 5, [&] {
        glib.reset();
        add_idle(ctx, [&] { return ++after, G_SOURCE_REMOVE; });
        return G_SOURCE_REMOVE;
    });
    io.run_for(100ms);
    EXPECT_EQ(glib, nullptr);
    EXPECT_EQ(after, 0);
    EXPECT_TRUE(io.stopped());
    EXPECT_TRUE(g_main_context_acquire(ctx)) << "context released";
    g_main_context_release(ctx);
}

// The io_context is kept busy while the integration lives, and an always-ready
// GLib source (idle returning TRUE) does not starve Asio handlers.
TEST_F(GlibIntegrationTest, KeepsIoBusyAndBusyIdleDoesNotStarveAsio) {
    GlibIntegration glib(io, ctx);
    io.run_for(20ms);
    EXPECT_FALSE(io.stopped()) << "run() returned for lack of work";
    io.restart();
    long idles = 0;
    add_idle(ctx, [&] { return ++idles, G_SOURCE_CONTINUE; });  // outside GLib dispatch: no wake-up needed
    int posted = 0;
    for (int i = 0; i < 100; ++i) asio::post(io, [&] { ++posted; });
    asio::steady_timer t(io, 20ms);
    t.async_wait([&](const boost::system::error_code&) { io.stop(); });
    run();
    EXPECT_EQ(posted, 100);
    EXPECT_GT(idles, 10);
}

// Sources attached from an Asio handler while the loop waits run without
// any manual wake-up: fd sources, and fd-less ones (timeout, idle) too (the
// context signals its wake-up fd on every attach).
TEST_F(GlibIntegrationTest, SourcesAttachedFromAsioHandlers) {
    GlibIntegration glib(io, ctx);
    Pipe pipe;
    ASSERT_EQ(::write(pipe.w, "y", 1), 1);
    std::vector<std::string> order;
    asio::steady_timer t1(io, 20ms), t2(io, 40ms), t3(io, 60ms);
    t1.async_wait([&](const boost::system::error_code&) {
        add_fd_watch(ctx, pipe.r, G_IO_IN, [&](int, GIOCondition) {
            order.push_back("fd");
            return G_SOURCE_REMOVE;
        });
    });
    t2.async_wait([&](const boost::system::error_code&) {
        add_timeout(ctx, 5, [&] { return order.push_back("timeout"), G_SOURCE_REMOVE; });
    });
    t3.async_wait([&](const boost::system::error_code&) {
        add_idle(ctx, [&] {
            order.push_back("idle");
            io.stop();
            return G_SOURCE_REMOVE;
        });
    });
    run(2000ms);
    EXPECT_EQ(order, (std::vector<std::string>{"fd", "timeout", "idle"}));
}

// GLib fd sources are level-triggered: a callback that does not drain the
// fd is called again (no lost edge). And when a callback closes its fd and
// a new file gets the same fd number, the new watch still works (the epoll
// registration died with the old file and must be re-added).
TEST_F(GlibIntegrationTest, LevelTriggeredAndReusedFdNumbers) {
    GlibIntegration glib(io, ctx);
    auto pipe = std::make_unique<Pipe>();
    const int first_r = pipe->r;
    int undrained = 0;
    std::string got;
    add_fd_watch(ctx, pipe->r, G_IO_IN, [&](int, GIOCondition) -> gboolean {
        ++undrained;  // never reads the byte
        if (undrained < 3) return G_SOURCE_CONTINUE;
        // Same dispatch: close the pipe, open a new one on the same numbers.
        pipe.reset();
        pipe = std::make_unique<Pipe>();
        EXPECT_EQ(pipe->r, first_r);
        add_fd_watch(ctx, pipe->r, G_IO_IN, [&](int fd, GIOCondition) {
            char c;
            EXPECT_EQ(::read(fd, &c, 1), 1);
            got += c;
            io.stop();
            return G_SOURCE_REMOVE;
        });
        return G_SOURCE_REMOVE;
    });
    // Another, unrelated watch keeps its own fd registered meanwhile.
    Pipe other;
    add_fd_watch(ctx, other.r, G_IO_IN, [](int, GIOCondition) { return G_SOURCE_CONTINUE; });
    ASSERT_EQ(::write(pipe->w, "a", 1), 1);
    // Write to the new pipe once the loop is waiting on it.
    asio::steady_timer t(io, 50ms);
    t.async_wait([&](const boost::system::error_code&) {
        ASSERT_EQ(undrained, 3);
        ASSERT_EQ(::write(pipe->w, "b", 1), 1);
    });
    run(2000ms);
    EXPECT_EQ(undrained, 3);
    EXPECT_EQ(got, "b");
}

// Two sources on one fd (epoll would refuse a second registration).
TEST_F(GlibIntegrationTest, TwoSourcesOnOneFd) {
    GlibIntegration glib(io, ctx);
    Pipe pipe;
    int a = 0, b = 0;
    add_fd_watch(ctx, pipe.r, G_IO_IN, [&](int, GIOCondition) { return ++a, G_SOURCE_REMOVE; });
    add_fd_watch(ctx, pipe.r, G_IO_IN, [&](int, GIOCondition) {
        ++b;
        return G_SOURCE_REMOVE;
    });
    add_timeout(ctx, 40, [&] { return io.stop(), G_SOURCE_REMOVE; });
    asio::steady_timer t(io, 10ms);
    t.async_wait([&](const boost::system::error_code&) { (void)!::write(pipe.w, "z", 1); });
    run();
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 1);
}

// Without a context the integration makes its own and pushes it as the
// thread's default: what libraries attach there (here from an Asio handler,
// as gupnp does when called from one) runs; the global default is not used.
TEST_F(GlibIntegrationTest, OwnContextIsTheThreadDefault) {
    ASSERT_EQ(g_main_context_get_thread_default(), nullptr);
    {
        GlibIntegration glib(io);
        EXPECT_NE(glib.context(), g_main_context_default());
        EXPECT_EQ(g_main_context_get_thread_default(), glib.context());
        bool fired = false;
        asio::steady_timer t(io, 10ms);
        t.async_wait([&](const boost::system::error_code&) {
            add_idle(g_main_context_get_thread_default(), [&] {
                fired = true;
                io.stop();
                return G_SOURCE_REMOVE;
            });
        });
        run(2000ms);
        EXPECT_TRUE(fired);
    }
    EXPECT_EQ(g_main_context_get_thread_default(), nullptr) << "not popped";
}

// The constructor refuses a context owned by another thread.
TEST_F(GlibIntegrationTest, ContextOwnedByAnotherThreadThrows) {
    std::promise<void> acquired, done;
    std::thread other([&] {
        EXPECT_TRUE(g_main_context_acquire(ctx));
        acquired.set_value();
        done.get_future().wait();
        g_main_context_release(ctx);
    });
    acquired.get_future().wait();
    EXPECT_THROW(GlibIntegration(io, ctx), std::runtime_error);
    done.set_value();
    other.join();
    GlibIntegration ok(io, ctx);  // free again
}

// FdWatch on its own: level-triggered waits, cancel, hang-up, destruction.
TEST(FdWatchTest, LevelTriggeredCancelAndDestroy) {
    asio::io_context io;
    Pipe pipe;
    ASSERT_EQ(::write(pipe.w, "q", 1), 1);
    {
        FdWatch w(io.get_executor(), pipe.r);
        int ready = 0;
        short last = 0;
        w.async_wait(POLLIN, [&](const boost::system::error_code& ec, short revents) {
            EXPECT_FALSE(ec);
            last = revents;
            ++ready;
        });
        EXPECT_TRUE(w.waiting());
        io.run();
        io.restart();
        EXPECT_EQ(ready, 1);
        EXPECT_TRUE(last & POLLIN);
        EXPECT_FALSE(w.waiting());
        // Not drained: a second wait completes again (no new edge needed).
        w.async_wait(POLLIN, [&](const boost::system::error_code& ec, short) {
            EXPECT_FALSE(ec);
            ++ready;
        });
        io.run();
        io.restart();
        EXPECT_EQ(ready, 2);
        // Drained: waits until cancelled.
        char c;
        ASSERT_EQ(::read(pipe.r, &c, 1), 1);
        bool aborted = false;
        w.async_wait(POLLIN, [&](const boost::system::error_code& ec, short) {
            aborted = ec == asio::error::operation_aborted;
        });
        io.run_for(10ms);
        io.restart();
        EXPECT_FALSE(aborted);
        w.cancel();
        io.run();
        io.restart();
        EXPECT_TRUE(aborted);
        // Becomes readable later: completes.
        bool later = false;
        w.async_wait(POLLIN, [&](const boost::system::error_code& ec, short revents) {
            later = !ec && (revents & POLLIN);
        });
        asio::steady_timer t(io, 5ms);
        t.async_wait([&](const boost::system::error_code&) { (void)!::write(pipe.w, "r", 1); });
        io.run();
        io.restart();
        EXPECT_TRUE(later);
        ASSERT_EQ(::read(pipe.r, &c, 1), 1);
    }
    {
        bool writable = false;
        FdWatch ww(io.get_executor(), pipe.w);
        ww.async_wait(POLLOUT, [&](const boost::system::error_code& ec, short revents) {
            writable = !ec && (revents & POLLOUT);
        });
        io.run();
        io.restart();
        EXPECT_TRUE(writable);
    }
    {
        // Hang-up always completes a wait.
        FdWatch w(io.get_executor(), pipe.r);
        short hup = 0;
        w.async_wait(POLLIN, [&](const boost::system::error_code&, short revents) { hup = revents; });
        asio::post(io, [&] {
            ::close(pipe.w);
            pipe.w = -1;
        });
        io.run();
        io.restart();
        EXPECT_TRUE(hup & POLLHUP);
    }
    {
        // Destroyed with a wait pending: the handler is dropped, fd stays open.
        FdWatch tmp(io.get_executor(), pipe.r);
        tmp.async_wait(POLLPRI, [](const boost::system::error_code&, short) { ADD_FAILURE(); });
    }
    io.run();
    EXPECT_NE(::fcntl(pipe.r, F_GETFD), -1) << "fd closed by FdWatch";
}
