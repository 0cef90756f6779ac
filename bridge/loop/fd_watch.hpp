// FdWatch: "call me when fd X is readable / writable" on a Boost.Asio
// io_context, for file descriptors owned by someone else (an epoll set, an
// sd-bus connection, ...). The fd is never closed by FdWatch.
//
// Semantics are level-triggered, like poll(): a wait completes as soon as the
// fd IS ready, even if it already was when async_wait() was called (Asio's
// epoll reactor is edge-triggered; FdWatch checks the level after arming, so
// no readiness is lost). Error and hang-up conditions always complete a wait.
//
// Caveats (inherited from asio::posix::stream_descriptor):
//  - Asio puts the fd in O_NONBLOCK mode. Do not use it on fds whose owner
//    relies on blocking I/O (GlibIntegration watches a private epoll set
//    instead of GLib's fds for exactly that reason).
//  - One FdWatch per fd per io_context, and the fd must not be registered with
//    the same io_context by another Asio object (epoll would say EEXIST: the
//    constructor throws boost::system::system_error).
//  - The fd must stay open while the FdWatch lives.
//  - Use it from the thread(s) running the io_context, serialised (a single
//    thread in the daemon). It is not thread-safe.
#pragma once

#include <poll.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>

namespace xpmn::loop {

class FdWatch {
public:
    // ec: success, or boost::asio::error::operation_aborted after cancel(), a
    // replacing async_wait(), or another error from the reactor.
    // revents: the poll() revents at completion (POLLIN, POLLOUT, POLLPRI,
    // POLLERR, POLLHUP, POLLNVAL); 0 when ec is set.
    using Handler = std::function<void(const boost::system::error_code& ec, short revents)>;

    FdWatch(const boost::asio::any_io_executor& ex, int fd);
    ~FdWatch();  // pending handler is dropped, never invoked; fd stays open
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;

    int fd() const noexcept;
    bool waiting() const noexcept;

    // Calls `handler` once, from the io_context (never inline), when the fd is
    // ready for any of `events` (a POLLIN | POLLOUT | POLLPRI mask; 0 means
    // "errors / hang-up only"). One wait at a time: a new call aborts the
    // pending one (its handler gets operation_aborted).
    void async_wait(short events, Handler handler);

    // Aborts the pending wait, if any: its handler runs with operation_aborted.
    void cancel() noexcept;

    // Zero-timeout poll() of `fd` for `events`; returns revents (0 if none).
    static short poll_now(int fd, short events) noexcept;

private:
    struct State;
    std::shared_ptr<State> st_;
};

}  // namespace xpmn::loop
