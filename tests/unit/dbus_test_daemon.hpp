// A private dbus-daemon for a test: `dbus-daemon --session --nofork
// --print-address --address=unix:path=…` in a temporary directory, killed
// and reaped when the object goes. Its address is what the daemon printed.
// run_until(): the tests' bounded loop runner.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace xpmn::test {

class DbusTestDaemon {
public:
    DbusTestDaemon() {
        char tmpl[] = "/tmp/xpmn-dbus-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        int out[2];
        if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
        const std::string listen = "--address=unix:path=" + dir_ + "/bus";
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::close(out[0]);
            ::close(out[1]);
            ::execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--print-address", listen.c_str(),
                     static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        // The daemon prints its address once it listens: read one line.
        char c;
        while (::read(out[0], &c, 1) == 1 && c != '\n') address_ += c;
        ::close(out[0]);
        if (address_.empty()) {  // no destructor runs for a throwing constructor: clean up here
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            std::error_code ignored;
            std::filesystem::remove_all(dir_, ignored);
            throw std::runtime_error("dbus-daemon printed no address");
        }
    }
    ~DbusTestDaemon() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    DbusTestDaemon(const DbusTestDaemon&) = delete;
    DbusTestDaemon& operator=(const DbusTestDaemon&) = delete;

    const std::string& address() const { return address_; }
    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    std::string dir_, address_;
    pid_t pid_ = -1;
};

// Runs `io` until `done()` or `guard` has passed (a failing test never hangs); returns done().
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done,
               std::chrono::milliseconds guard = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + guard;
    while (!done() && std::chrono::steady_clock::now() < end) {
        io.run_for(std::chrono::milliseconds(10));
        io.restart();
    }
    return done();
}

}  // namespace xpmn::test
