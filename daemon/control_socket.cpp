#include "daemon/control_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace xpmn::daemon {

using boost::asio::local::stream_protocol;

struct ControlSocket::Shared {
    boost::asio::io_context& io;
    stream_protocol::acceptor acceptor;
    std::map<std::string, Command, std::less<>> commands;
    std::size_t clients = 0;
    std::chrono::milliseconds timeout{ControlSocket::kTimeout};
    explicit Shared(boost::asio::io_context& io) : io(io), acceptor(io) {}
};

namespace {

// A unix socket address for `path`; throws when it does not fit.
sockaddr_un address_of(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw ControlSocketError("control socket path too long (" + std::to_string(path.size()) + " bytes): " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// A blocking connect attempt: 0 or the errno.
int try_connect(const std::string& path, int& fd_out) {
    sockaddr_un addr = address_of(path);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        return e;
    }
    fd_out = fd;
    return 0;
}

bool printable(const std::string& line) {
    for (unsigned char c : line)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

// One client: one line in, one line out, then closed.
struct Session : std::enable_shared_from_this<Session> {
    std::shared_ptr<ControlSocket::Shared> shared;
    stream_protocol::socket socket;
    boost::asio::steady_timer timer;
    std::string in, out;

    Session(std::shared_ptr<ControlSocket::Shared> s, stream_protocol::socket sock)
        : shared(std::move(s)), socket(std::move(sock)), timer(shared->io) {}
    ~Session() { --shared->clients; }

    void start() {
        timer.expires_after(shared->timeout);
        timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock())
                self->answer("error no command within " + std::to_string(self->shared->timeout.count()) + " ms");
        });
        boost::asio::async_read_until(socket, boost::asio::dynamic_buffer(in, ControlSocket::kMaxLine), '\n',
                                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                          self->got_line(ec, n);
                                      });
    }

    void got_line(const boost::system::error_code& ec, std::size_t n) {
        if (!out.empty()) return;  // timed out meanwhile
        if (ec == boost::asio::error::not_found)
            return answer("error command longer than " + std::to_string(ControlSocket::kMaxLine) + " bytes");
        if (ec) return close();  // the client went away
        std::string line = in.substr(0, n - 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!printable(line)) return answer("error the command must be printable ASCII");
        auto it = shared->commands.find(line);
        if (it == shared->commands.end()) return answer("error unknown command '" + line + "'");
        Result<std::string> r = it->second();
        answer(r ? "ok " + r.value() : "error " + r.error().describe());
    }

    void answer(std::string text) {
        out = std::move(text) + "\n";
        boost::asio::async_write(socket, boost::asio::buffer(out),
                                 [self = shared_from_this()](const boost::system::error_code&, std::size_t) {
                                     self->close();
                                 });
    }

    void close() {
        timer.cancel();
        boost::system::error_code ignored;
        socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
};

}  // namespace

std::string control_socket_path(const std::string& state_dir) { return state_dir + "/control.sock"; }

ControlSocket::ControlSocket(boost::asio::io_context& io, const std::string& state_dir,
                             std::chrono::milliseconds timeout)
    : path_(control_socket_path(state_dir)), shared_(std::make_shared<Shared>(io)) {
    shared_->timeout = timeout;
    struct stat st {};
    if (::stat(state_dir.c_str(), &st) != 0)
        throw ControlSocketError("state_dir " + state_dir + ": " + std::strerror(errno));
    if ((st.st_mode & 077) != 0 && ::chmod(state_dir.c_str(), 0700) != 0)
        throw ControlSocketError("cannot make state_dir " + state_dir + " owner-only: " + std::strerror(errno));

    if (::lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw ControlSocketError(path_ + " exists and is not a socket; remove it");
        int fd = -1;
        int e = try_connect(path_, fd);
        if (e == 0) {
            ::close(fd);
            throw ControlSocketError("another xpmn-bridge is running with state_dir " + state_dir + " (" + path_ +
                                     " answers)");
        }
        if (e != ECONNREFUSED && e != ENOENT)
            throw ControlSocketError("cannot check the old control socket " + path_ + ": " + std::strerror(e));
        spdlog::info("replacing the control socket of a daemon that is gone: {}", path_);
        if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
            throw ControlSocketError("cannot remove the old control socket " + path_ + ": " + std::strerror(errno));
    }

    (void)address_of(path_);  // throws when too long
    boost::system::error_code ec;
    auto& acceptor = shared_->acceptor;
    acceptor.open(stream_protocol(), ec);
    if (!ec) {
        mode_t old = ::umask(0177);  // the socket is created 0600
        acceptor.bind(stream_protocol::endpoint(path_), ec);
        ::umask(old);
    }
    if (!ec) acceptor.listen(static_cast<int>(kMaxClients), ec);
    if (ec) throw ControlSocketError("cannot listen on " + path_ + ": " + ec.message());
    ::chmod(path_.c_str(), 0600);
    accept();
    spdlog::info("control socket {}", path_);
}

ControlSocket::~ControlSocket() {
    boost::system::error_code ignored;
    shared_->acceptor.close(ignored);
    ::unlink(path_.c_str());
}

void ControlSocket::on(std::string command, Command handler) { shared_->commands[std::move(command)] = std::move(handler); }

void ControlSocket::accept() {
    shared_->acceptor.async_accept(
        [weak = std::weak_ptr<Shared>(shared_), this](const boost::system::error_code& ec, stream_protocol::socket s) {
            auto shared = weak.lock();
            if (!shared || ec == boost::asio::error::operation_aborted || !shared->acceptor.is_open()) return;
            if (!ec) {
                if (shared->clients >= kMaxClients) {
                    spdlog::warn("control socket: more than {} clients at once; one refused", kMaxClients);
                } else {
                    ++shared->clients;
                    std::make_shared<Session>(shared, std::move(s))->start();
                }
            } else {
                spdlog::warn("control socket: accept failed: {}", ec.message());
            }
            accept();
        });
}

Result<std::string> control_request(const std::string& state_dir, const std::string& command,
                                    std::chrono::seconds timeout) {
    std::string path = control_socket_path(state_dir);
    int fd = -1;
    int e = 0;
    try {
        e = try_connect(path, fd);
    } catch (const ControlSocketError& err) {
        return Error{"internal-server-error", err.what()};
    }
    if (e == ENOENT || e == ECONNREFUSED)
        return Error{"service-unavailable", "no xpmn-bridge is running with state_dir " + state_dir + " (" + path +
                                                ": " + std::strerror(e) + ")"};
    if (e != 0) return Error{"internal-server-error", "cannot connect to " + path + ": " + std::strerror(e)};

    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto wait = [&](short events) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, events, 0};
        return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) > 0;
    };
    std::string line = command + "\n", answer;
    Result<std::string> result = Error{"remote-server-timeout", "xpmn-bridge did not answer within " +
                                                                    std::to_string(timeout.count()) + " s"};
    std::size_t sent = 0;
    while (sent < line.size() && wait(POLLOUT)) {
        ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    while (sent == line.size() && wait(POLLIN)) {
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            result = Error{"internal-server-error", "xpmn-bridge closed the control socket without an answer"};
            break;
        }
        answer.append(buf, static_cast<std::size_t>(n));
        if (auto nl = answer.find('\n'); nl != std::string::npos) {
            result = answer.substr(0, nl);
            break;
        }
        if (answer.size() > 4096) {
            result = Error{"internal-server-error", "the control socket's answer is too long"};
            break;
        }
    }
    ::close(fd);
    return result;
}

}  // namespace xpmn::daemon
