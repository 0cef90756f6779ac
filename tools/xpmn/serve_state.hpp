// How `xpmn url` and `xpmn play` find the `xpmn serve` of their state
// directory, or start one: the server writes `STATE_DIR/serve.port`
// ("PORT PID") once it listens and removes it on exit; a file whose process
// is gone or whose port does not answer is stale and ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"

namespace xpmn::tools {

// http://127.0.0.1:PORT/<uri percent-encoded, '/', ':', '?' and ';' included>
std::string serve_url(std::uint16_t port, const std::string& uri);

class ServePortFile {
public:
    explicit ServePortFile(const std::string& state_dir);
    // Written atomically (temporary file + rename); throws std::runtime_error.
    void publish(std::uint16_t port);
    // Removes the file if it still names this process.
    void withdraw();
    // The port of a live server of this state directory, if any.
    std::optional<std::uint16_t> live_port() const;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// The arguments of `xpmn serve` with the caller's global options (the config
// path made absolute).
std::vector<std::string> serve_command(const std::string& config_path, int timeout_s, bool verbose, bool no_e2e);

// Held while an `xpmn url` looks for a server and starts one, so that two
// at once start one server, not two (flock on STATE_DIR/serve.lock; a
// failure to lock is reported and not fatal: at worst two servers run).
class ServeStartLock {
public:
    explicit ServeStartLock(const std::string& state_dir);
    ~ServeStartLock();
    ServeStartLock(const ServeStartLock&) = delete;
    ServeStartLock& operator=(const ServeStartLock&) = delete;

private:
    int fd_ = -1;
};

// Starts `xpmn serve` detached (own session, stdin /dev/null, stdout and
// stderr appended to `log_file`) with `args` (the program's own global
// options and `serve`), and waits up to `limit` until it listens. An error
// says where to look when it exited or did not answer in time.
Result<std::uint16_t> start_background_server(const std::vector<std::string>& args, const std::string& log_file,
                                               std::chrono::seconds limit);

// The option `xpmn serve` reports its port through to the `xpmn url` that
// started it (a pipe inherited across exec).
inline constexpr const char* kReadyFdOption = "--ready-fd";
// Tells the starter the port on `fd` and closes it; a failure is reported,
// not fatal (the starter then sees the end of the pipe).
void report_ready(int fd, std::uint16_t port);

}  // namespace xpmn::tools
