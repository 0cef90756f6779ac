// SdbusIntegration: sd-bus dispatch driven by Asio (see the header).
#include "bridge/loop/sdbus_integration.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>

#include "bridge/loop/fd_watch.hpp"

namespace xpmn::loop {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Requests handled in one go before the io_context gets a turn (a chatty
// bus must not starve the XMPP side); the rest follow in a posted handler.
constexpr int kBatch = 64;
}  // namespace

struct SdbusIntegration::Impl : std::enable_shared_from_this<SdbusIntegration::Impl> {
    Impl(asio::io_context& ioc, std::unique_ptr<sdbus::IConnection> c)
        : io(ioc), conn(std::move(c)), timer(ioc) {}

    asio::io_context& io;
    std::unique_ptr<sdbus::IConnection> conn;
    std::optional<FdWatch> watch;
    asio::steady_timer timer;
    std::uint64_t gen = 0;  // the current wait; bumps when it ends
    bool dispatching = false;
    bool stopped = false;
    bool broken = false;
    int idle_hangups = 0;  // POLLHUP / POLLERR wake-ups that processed nothing
    std::function<void(const std::string&)> disconnected;

    void arm() {
        if (stopped || broken || dispatching) return;
        sdbus::IConnection::PollData pd;
        try {
            pd = conn->getEventLoopPollData();
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        if (!watch || watch->fd() != pd.fd) {
            watch.reset();
            watch.emplace(io.get_executor(), pd.fd);
        }
        const std::uint64_t g = ++gen;
        auto weak = weak_from_this();
        timer.cancel();
        const auto rel = pd.getRelativeTimeout();  // nullopt: no deadline
        if (rel && rel->count() <= 0) {
            watch->cancel();
            asio::post(io, [weak, g] {
                if (auto self = weak.lock()) self->fire(g, 0);
            });
            return;
        }
        watch->async_wait(pd.events, [weak, g](const error_code& ec, short revents) {
            if (ec == asio::error::operation_aborted) return;
            if (auto self = weak.lock()) self->fire(g, revents);
        });
        if (rel) {
            // sd-bus's deadline is CLOCK_MONOTONIC, as steady_clock is on Linux.
            timer.expires_at(std::chrono::steady_clock::time_point(pd.getAbsoluteTimeout()));
            timer.async_wait([weak, g](const error_code& ec) {
                if (ec) return;
                if (auto self = weak.lock()) self->fire(g, 0);
            });
        }
    }

    void fire(std::uint64_t g, short revents) {
        if (g != gen || stopped || broken) return;
        ++gen;
        auto keep_alive = shared_from_this();  // a callback may destroy the owner
        timer.cancel();
        if (watch) watch->cancel();
        dispatching = true;
        bool more = false, any = false;
        try {
            for (int i = 0; i < kBatch; ++i) {
                if (!conn->processPendingRequest()) break;
                any = true;
                if (stopped) break;
                more = i + 1 == kBatch;
            }
        } catch (const sdbus::Error& e) {
            dispatching = false;
            fail(e.getName() + ": " + e.getMessage());
            return;
        } catch (const std::exception& e) {
            // A callback threw: drop it, keep the connection.
            spdlog::error("sd-bus: a callback threw: {}", e.what());
            more = true;
        }
        dispatching = false;
        if (stopped) return;
        // A hang-up that sd-bus does not turn into an error would wake us for
        // ever: after a few idle ones, the connection is gone.
        if ((revents & (POLLHUP | POLLERR | POLLNVAL)) && !any) {
            if (++idle_hangups >= 3) {
                fail("the bus connection hung up");
                return;
            }
        } else {
            idle_hangups = 0;
        }
        if (more) {
            const std::uint64_t g2 = ++gen;
            asio::post(io, [weak = weak_from_this(), g2] {
                if (auto self = weak.lock()) self->fire(g2, 0);
            });
            return;
        }
        arm();
    }

    void fail(const std::string& why) {
        if (broken) return;
        broken = true;
        ++gen;
        timer.cancel();
        if (watch) watch->cancel();
        spdlog::error("sd-bus: connection lost: {}", why);
        if (auto h = std::move(disconnected)) h(why);
    }

    void stop() {
        stopped = true;
        ++gen;
        timer.cancel();
        watch.reset();
    }
};

SdbusIntegration::SdbusIntegration(asio::io_context& io, std::unique_ptr<sdbus::IConnection> connection)
    : impl_(std::make_shared<Impl>(io, std::move(connection))) {
    impl_->arm();
}

SdbusIntegration::~SdbusIntegration() { impl_->stop(); }

sdbus::IConnection& SdbusIntegration::connection() const noexcept { return *impl_->conn; }

asio::io_context& SdbusIntegration::io() const noexcept { return impl_->io; }

void SdbusIntegration::issued() { impl_->arm(); }

void SdbusIntegration::on_disconnected(std::function<void(const std::string&)> handler) {
    impl_->disconnected = std::move(handler);
}

bool SdbusIntegration::connected() const noexcept { return !impl_->broken; }

namespace {

// sdbus-c++ 1.2 leaks its sd_bus when the bus at an explicit address cannot
// be reached (its address factory does not unref on a failed start), so a
// `unix:path=` bus is tried first: a path nobody listens on is an error here.
void check_unix_path(const std::string& address) {
    const std::string prefix = "unix:path=";
    if (address.rfind(prefix, 0) != 0) return;
    std::string path = address.substr(prefix.size(), address.find(',') - prefix.size());
    sockaddr_un sun{};
    if (path.empty() || path.size() >= sizeof(sun.sun_path))
        throw sdbus::Error("org.freedesktop.DBus.Error.BadAddress", "not a usable D-Bus socket path: " + address);
    sun.sun_family = AF_UNIX;
    path.copy(sun.sun_path, path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sdbus::Error("org.freedesktop.DBus.Error.NoMemory", std::string("socket: ") + std::strerror(errno));
    int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sun));
    int error = errno;
    ::close(fd);
    if (r < 0)
        throw sdbus::Error("org.freedesktop.DBus.Error.FileNotFound",
                           "cannot connect to the D-Bus bus at " + address + ": " + std::strerror(error));
}

}  // namespace

std::unique_ptr<sdbus::IConnection> SdbusIntegration::connect(const std::string& bus) {
    if (bus.empty() || bus == "session") return sdbus::createSessionBusConnection();
    if (bus == "system") return sdbus::createSystemBusConnection();
    check_unix_path(bus);
    return sdbus::createSessionBusConnectionWithAddress(bus);
}

}  // namespace xpmn::loop
