// FdWatch: level-triggered readiness waits on a non-owned fd (see the header).
#include "bridge/loop/fd_watch.hpp"

#include <cerrno>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace xpmn::loop {

namespace asio = boost::asio;
using boost::system::error_code;

struct FdWatch::State : std::enable_shared_from_this<FdWatch::State> {
    State(const asio::any_io_executor& ex, int watched) : sd(ex, watched), fd(watched) {}
    ~State() {
        // Never close a descriptor we do not own: release() only deregisters
        // it from the reactor (pending ops complete with operation_aborted
        // and find their State gone).
        if (sd.is_open()) sd.release();
    }

    asio::posix::stream_descriptor sd;
    const int fd;
    std::uint64_t gen = 0;  // bumps on every arm / completion / cancel
    Handler handler;        // non-empty iff a wait is pending
    short events = 0;

    void arm() {
        const std::uint64_t g = gen;
        std::weak_ptr<State> weak = weak_from_this();
        auto on_ready = [weak, g](const error_code& ec) {
            if (auto self = weak.lock()) self->complete(g, ec);
        };
        if (events & POLLIN) sd.async_wait(asio::posix::stream_descriptor::wait_read, on_ready);
        if (events & POLLOUT) sd.async_wait(asio::posix::stream_descriptor::wait_write, on_ready);
        if ((events & POLLPRI) || !(events & (POLLIN | POLLOUT)))
            sd.async_wait(asio::posix::stream_descriptor::wait_error, on_ready);
        // The reactor is edge-triggered: an fd that was already ready before
        // the ops were queued may never produce another edge. Check the level
        // now that the ops are queued (no window left in between).
        if (poll_now(fd, events) != 0)
            asio::post(sd.get_executor(), [weak, g] {
                if (auto self = weak.lock()) self->complete(g, error_code{});
            });
    }

    void complete(std::uint64_t g, error_code ec) {
        if (g != gen || !handler) return;  // stale (cancelled / superseded)
        short revents = 0;
        if (ec != asio::error::operation_aborted) {
            revents = poll_now(fd, events);
            if (revents != 0) {
                ec = {};  // e.g. operation_not_supported for a regular file: it is ready
            } else if (!ec) {
                // Spurious wake-up (an edge the level no longer shows, or
                // POLLPRI while only POLLIN was asked for): keep waiting.
                ++gen;
                error_code ignored;
                sd.cancel(ignored);
                arm();
                return;
            }
        }
        ++gen;
        error_code ignored;
        sd.cancel(ignored);  // siblings (read vs write vs error) complete as stale
        Handler h = std::move(handler);
        handler = nullptr;
        h(ec, revents);  // the caller's lambda holds a shared_ptr: *this survives
    }

    void abort_pending() {
        if (!handler) return;
        ++gen;
        error_code ignored;
        sd.cancel(ignored);
        Handler h = std::move(handler);
        handler = nullptr;
        asio::post(sd.get_executor(),
                   [h = std::move(h)] { h(asio::error::operation_aborted, 0); });
    }
};

FdWatch::FdWatch(const asio::any_io_executor& ex, int fd)
    : st_(std::make_shared<State>(ex, fd)) {}

FdWatch::~FdWatch() {
    st_->handler = nullptr;
    ++st_->gen;
}

int FdWatch::fd() const noexcept { return st_->fd; }

bool FdWatch::waiting() const noexcept { return static_cast<bool>(st_->handler); }

void FdWatch::async_wait(short events, Handler handler) {
    st_->abort_pending();
    ++st_->gen;
    st_->events = static_cast<short>(events & (POLLIN | POLLOUT | POLLPRI));
    st_->handler = std::move(handler);
    st_->arm();
}

void FdWatch::cancel() noexcept {
    try {
        st_->abort_pending();
    } catch (...) {
        // asio::post only throws on allocation failure; nothing sane to do.
    }
}

short FdWatch::poll_now(int fd, short events) noexcept {
    pollfd p{fd, events, 0};
    int r;
    do {
        r = ::poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    return r > 0 ? p.revents : 0;
}

}  // namespace xpmn::loop
