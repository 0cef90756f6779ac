// The daemon's control socket, `state_dir/control.sock`: how `xpmn-bridge
// pair` (and later a status page) asks the running daemon for things only it
// can do. Owner-only: the state directory is 0700 and the socket 0600; only
// the daemon's user (or root) can connect.
//
// Line protocol (docs/security.md): the client sends one command line
// (printable ASCII, at most kMaxLine bytes with its "\n"); the daemon answers
// one line and closes:
//   ok KEY=VALUE KEY=VALUE…\n      (values without spaces)
//   error TEXT\n
// A client that sends nothing, too much or junk within kTimeout gets an
// error line (if it is still there) and is disconnected.
//
// At start a socket left by a dead daemon is replaced; one that answers
// belongs to a live daemon on the same state_dir, and starting is refused.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "xmpp/core/result.hpp"

namespace xpmn::daemon {

struct ControlSocketError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ControlSocket {
public:
    static constexpr std::size_t kMaxLine = 256;
    static constexpr std::chrono::seconds kTimeout{5};
    static constexpr std::size_t kMaxClients = 8;
    // The answer to a command: the text after "ok " (or an error).
    using Command = std::function<Result<std::string>()>;

    // Opens `state_dir/control.sock` and starts accepting. Throws
    // ControlSocketError (another daemon runs; cannot bind; not a socket …).
    ControlSocket(boost::asio::io_context& io, const std::string& state_dir,
                  std::chrono::milliseconds timeout = kTimeout);
    ~ControlSocket();  // closes and removes the socket
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

    void on(std::string command, Command handler);
    const std::string& path() const { return path_; }

    struct Shared;  // what the accept loop and its clients share (control_socket.cpp)

private:
    void accept();

    std::string path_;
    std::shared_ptr<Shared> shared_;
};

std::string control_socket_path(const std::string& state_dir);

// The client side: sends `command` to the daemon of `state_dir` and returns
// its answer line (without "\n"). Errors: condition "service-unavailable"
// when no daemon listens there, "remote-server-timeout", or
// "internal-server-error" for other failures; text says why.
Result<std::string> control_request(const std::string& state_dir, const std::string& command,
                                    std::chrono::seconds timeout = std::chrono::seconds(10));

}  // namespace xpmn::daemon
