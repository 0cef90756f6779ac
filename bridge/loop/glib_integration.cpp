// GlibIntegration: GLib main context iterations driven by Asio (see header).
#include "bridge/loop/glib_integration.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstddef>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bridge/loop/fd_watch.hpp"

namespace xpmn::loop {

namespace asio = boost::asio;
using boost::system::error_code;

static_assert(sizeof(GPollFD) == sizeof(pollfd), "GPollFD must match struct pollfd");
static_assert(offsetof(GPollFD, fd) == offsetof(pollfd, fd));
static_assert(offsetof(GPollFD, events) == offsetof(pollfd, events));
static_assert(offsetof(GPollFD, revents) == offsetof(pollfd, revents));
static_assert(G_IO_IN == POLLIN && G_IO_OUT == POLLOUT && G_IO_PRI == POLLPRI);
static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLPRI == POLLPRI);

struct GlibIntegration::Impl : std::enable_shared_from_this<GlibIntegration::Impl> {
    Impl(asio::io_context& ioc, GMainContext* c) : io(ioc), ctx(c), timer(ioc) {}

    ~Impl() {
        watch.reset();  // deregister the epoll fd from Asio before closing it
        if (epfd >= 0) ::close(epfd);
        if (pushed) g_main_context_pop_thread_default(ctx);
        if (acquired) g_main_context_release(ctx);
        g_main_context_unref(ctx);
    }

    asio::io_context& io;
    GMainContext* ctx;  // ref held
    bool acquired = false;
    bool pushed = false;  // as the thread's default context
    int epfd = -1;  // private epoll set of GLib's fds (edge-triggered)
    std::optional<FdWatch> watch;  // on epfd
    asio::steady_timer timer;

    std::vector<GPollFD> fds = std::vector<GPollFD>(16);
    int nfds = 0;
    gint max_priority = 0;
    std::uint64_t gen = 0;  // identifies the current wait; bumps when it ends
    bool stopped = false;

    // fds currently in epfd (sorted by fd) and the epoll events they have.
    struct Reg {
        int fd;
        std::uint32_t events;
    };
    std::vector<Reg> registered;
    std::vector<Reg> wanted, next;  // scratch, kept to avoid reallocations

    void start() {
        epfd = ::epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
            throw std::runtime_error(std::string("GlibIntegration: epoll_create1: ") +
                                     std::strerror(errno));
        watch.emplace(io.get_executor(), epfd);
        if (!g_main_context_acquire(ctx))
            throw std::runtime_error(
                "GlibIntegration: the GMainContext is owned by another thread");
        acquired = true;
        g_main_context_push_thread_default(ctx);
        pushed = true;
        // First iteration from the io_context, not from the constructor:
        // prepare() may run source callbacks' prepare functions.
        asio::post(io, [weak = weak_from_this()] {
            if (auto self = weak.lock(); self && !self->stopped) self->begin();
        });
    }

    void stop() {
        stopped = true;
        ++gen;
        timer.cancel();
        if (watch) watch->cancel();
    }

    // Begins an iteration: prepare, query, sync the epoll set, arm the waits.
    void begin() {
        gint prio = 0;
        const gboolean ready = g_main_context_prepare(ctx, &prio);
        max_priority = prio;
        gint timeout = -1;
        int n;
        while ((n = g_main_context_query(ctx, max_priority, &timeout, fds.data(),
                                         static_cast<gint>(fds.size()))) >
               static_cast<int>(fds.size()))
            fds.resize(static_cast<std::size_t>(n));
        nfds = n;
        if (ready) timeout = 0;
        sync_epoll();
        // Level check: GLib sources are level-triggered; an fd that stayed
        // ready (callback did not drain it) produces no new epoll edge.
        if (timeout != 0 && nfds > 0 && poll_fds() > 0) timeout = 0;

        const std::uint64_t g = ++gen;
        auto weak = weak_from_this();
        if (timeout == 0) {
            asio::post(io, [weak, g] {
                if (auto self = weak.lock()) self->fire(g);
            });
            return;
        }
        watch->async_wait(POLLIN, [weak, g](const error_code& ec, short) {
            if (ec == asio::error::operation_aborted) return;
            if (auto self = weak.lock()) self->fire(g);
        });
        if (timeout > 0) {
            timer.expires_after(std::chrono::milliseconds(timeout));
            timer.async_wait([weak, g](const error_code& ec) {
                if (ec) return;
                if (auto self = weak.lock()) self->fire(g);
            });
        }
    }

    // Ends an iteration (a wait fired): check, dispatch, begin the next one.
    void fire(std::uint64_t g) {
        if (g != gen || stopped) return;
        ++gen;
        auto keep_alive = shared_from_this();  // a callback may destroy the owner
        timer.cancel();
        watch->cancel();
        drain_epoll();
        poll_fds();
        g_main_context_check(ctx, max_priority, fds.data(), nfds);
        g_main_context_dispatch(ctx);
        if (stopped) return;
        begin();
    }

    // Zero-timeout poll() of the queried fds: fills revents. Not a loop.
    int poll_fds() {
        if (nfds == 0) return 0;
        int r;
        do {
            r = ::poll(reinterpret_cast<pollfd*>(fds.data()), static_cast<nfds_t>(nfds), 0);
        } while (r < 0 && errno == EINTR);
        if (r <= 0)
            for (int i = 0; i < nfds; ++i) fds[static_cast<std::size_t>(i)].revents = 0;
        return r;
    }

    void drain_epoll() {
        epoll_event evs[32];
        int r;
        do {
            r = ::epoll_wait(epfd, evs, 32, 0);
        } while (r == 32 || (r < 0 && errno == EINTR));
    }

    // Makes epfd hold exactly the queried fds. Every kept fd gets an
    // EPOLL_CTL_MOD each iteration: it re-arms the edge (the kernel re-checks
    // readiness), follows event-mask changes, and detects an fd number that
    // GLib closed and reused for another file (ENOENT: the old registration
    // vanished with the old file, so ADD the new one).
    void sync_epoll() {
        wanted.clear();
        for (int i = 0; i < nfds; ++i) {
            const GPollFD& p = fds[static_cast<std::size_t>(i)];
            if (p.fd < 0) continue;
            wanted.push_back({p.fd, static_cast<std::uint32_t>(p.events & (POLLIN | POLLOUT | POLLPRI))});
        }
        std::sort(wanted.begin(), wanted.end(),
                  [](const Reg& a, const Reg& b) { return a.fd < b.fd; });
        // Merge duplicates (two sources polling one fd): one registration.
        std::size_t w = 0;
        for (std::size_t i = 0; i < wanted.size(); ++i) {
            if (w > 0 && wanted[w - 1].fd == wanted[i].fd)
                wanted[w - 1].events |= wanted[i].events;
            else
                wanted[w++] = wanted[i];
        }
        wanted.resize(w);

        next.clear();
        auto r = registered.begin();
        for (const Reg& want : wanted) {
            while (r != registered.end() && r->fd < want.fd) epoll_del((r++)->fd);
            const bool known = r != registered.end() && r->fd == want.fd;
            if (known) ++r;
            if (epoll_set(want.fd, want.events, known)) next.push_back(want);
        }
        while (r != registered.end()) epoll_del((r++)->fd);
        registered.swap(next);
    }

    // Returns whether the fd is now in the set.
    bool epoll_set(int fd, std::uint32_t events, bool known) {
        epoll_event ev{};
        ev.events = events | EPOLLET;
        ev.data.fd = fd;
        if (known) {
            if (::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return true;
            if (errno != ENOENT) return false;  // EBADF: closed; poll() reports POLLNVAL
        }
        if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0) return true;
        if (errno == EEXIST) return ::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0;
        // EPERM: regular file / directory, always ready for poll(): the level
        // check in begin() dispatches it without waiting. EBADF: as above.
        return false;
    }

    void epoll_del(int fd) {
        // Errors are fine: a closed fd already left the set.
        ::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    }
};

GlibIntegration::GlibIntegration(asio::io_context& io, GMainContext* ctx) {
    impl_ = std::make_shared<Impl>(io, ctx ? g_main_context_ref(ctx) : new_context());
    impl_->start();
}

GMainContext* GlibIntegration::new_context() {
    return g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
}

GlibIntegration::~GlibIntegration() {
    impl_->stop();
    // If a GLib callback is destroying us, fire() still holds a reference:
    // the context is released once the dispatch has returned.
    impl_.reset();
}

GMainContext* GlibIntegration::context() const noexcept { return impl_->ctx; }

}  // namespace xpmn::loop
