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
//    another thread owns it) and pushes it as that thread's default context
//    (g_main_context_push_thread_default), so GLib-based libraries (gupnp,
//    libsoup, GTask) created afterwards on this thread attach their sources
//    to it; the io_context must be run by that thread only.
//  - Without a context argument it creates its own (new_context()); the
//    global default context is not used.
//  - While it lives the integration always has a wait pending, so
//    io_context::run() does not return for lack of work (it is the daemon's
//    loop): end it with io_context::stop() or by destroying this object.
//  - Destroy it before the io_context. Destroying it (even from inside a GLib
//    callback) cancels every wait, pops the thread default and releases the
//    context; sources stay attached to the context and run again under the
//    next integration or g_main_loop.
//  - No manual wake-up, ever: the context is made with
//    G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING, so attaching a source from any
//    code on any thread (an Asio handler calling into gupnp or libsoup
//    included) signals the context's wake-up fd, which this integration
//    waits on. A context passed in must have been made by new_context().
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

    // A context fit for an integration (see the contract); the caller owns
    // the returned reference.
    static GMainContext* new_context();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace xpmn::loop
