// GlibIntegration: runs a GLib GMainContext from inside a Boost.Asio
// io_context, on the same thread, with no helper thread and no polling. While
// the object lives, every GSource of the context (timeouts, idles, fd watches,
// libsoup / gupnp sockets) is dispatched from io_context::run().
//
// How: one GLib iteration at a time, g_main_context_prepare() + query(); the
// queried fds go into a private edge-triggered epoll set (so Asio never
// touches GLib's fds: no O_NONBLOCK flipping, no stale reactor state when
// GLib closes an fd) which one FdWatch waits on, plus a steady_timer for the
// GLib timeout; when either fires, revents come from a zero-timeout poll() of
// the queried fds, then g_main_context_check() + dispatch(), and re-arm.
//
// Contract:
//  - Construct, run the io_context and destroy on ONE thread: the constructor
//    acquires the context for the calling thread (throws std::runtime_error if
//    another thread owns it); the io_context must be run by that thread only.
//  - While it lives the integration always has a wait pending, so
//    io_context::run() does not return for lack of work (it is the daemon's
//    loop): end it with io_context::stop() or by destroying this object.
//  - Destroy it before the io_context. Destroying it (even from inside a GLib
//    callback) cancels every wait and releases the context; sources stay
//    attached to the context and run again under the next integration or
//    g_main_loop.
//  - GLib wakes the loop by itself when sources are added from GLib callbacks
//    (the context is re-prepared after each dispatch), when fd sources are
//    added, when a ready time changes, and when another thread attaches a
//    source. It does NOT when an fd-less source (idle, timeout,
//    g_main_context_invoke) is attached from an Asio handler on the owning
//    thread: call wakeup() after such calls (e.g. after calling into gupnp /
//    libsoup from an Asio handler), or that source waits for the next wake-up.
#pragma once

#include <glib.h>

#include <boost/asio/io_context.hpp>
#include <memory>

namespace xpmn::loop {

class GlibIntegration {
public:
    explicit GlibIntegration(boost::asio::io_context& io, GMainContext* ctx = nullptr);
    ~GlibIntegration();
    GlibIntegration(const GlibIntegration&) = delete;
    GlibIntegration& operator=(const GlibIntegration&) = delete;

    GMainContext* context() const noexcept;

    // Re-evaluates the context's sources soon (g_main_context_wakeup()).
    // Thread-safe. See the contract above for when it is needed.
    void wakeup() const noexcept;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace xpmn::loop
