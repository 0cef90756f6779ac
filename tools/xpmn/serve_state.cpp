// The serve.port file and starting `xpmn serve` in the background.
#include "tools/xpmn/serve_state.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace xpmn::tools {

namespace {

struct PortRecord {
    std::uint16_t port = 0;
    pid_t pid = 0;
};

std::optional<PortRecord> read_record(const std::string& path) {
    std::ifstream in(path);
    long port = 0, pid = 0;
    if (!(in >> port >> pid) || port <= 0 || port > 65535 || pid <= 0) return std::nullopt;
    return PortRecord{static_cast<std::uint16_t>(port), static_cast<pid_t>(pid)};
}

// Something accepts TCP connections on 127.0.0.1:port.
bool port_answers(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;  // loopback: at once
    close(fd);
    return ok;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// The last line of the server's log: usually why it ended.
std::string last_line(const std::string& path) {
    std::ifstream in(path);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last;
}

}  // namespace

std::string serve_url(std::uint16_t port, const std::string& uri) {
    char* escaped = g_uri_escape_string(uri.c_str(), nullptr, FALSE);
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/" + escaped;
    g_free(escaped);
    return url;
}

ServePortFile::ServePortFile(const std::string& state_dir) : path_(state_dir + "/serve.port") {}

void ServePortFile::publish(std::uint16_t port) {
    const std::string tmp = path_ + ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << " " << getpid() << "\n";
        out.close();
        if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
        const std::string why = errno_text("cannot rename " + tmp + " to " + path_);
        std::remove(tmp.c_str());
        throw std::runtime_error(why);
    }
}

void ServePortFile::withdraw() {
    auto record = read_record(path_);
    if (record && record->pid == getpid()) std::remove(path_.c_str());
}

std::optional<std::uint16_t> ServePortFile::live_port() const {
    auto record = read_record(path_);
    if (!record) return std::nullopt;
    const bool running = kill(record->pid, 0) == 0 || errno == EPERM;
    if (!running || !port_answers(record->port)) return std::nullopt;
    return record->port;
}

ServeStartLock::ServeStartLock(const std::string& state_dir) {
    const std::string path = state_dir + "/serve.lock";
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    // Blocks at most as long as another starter waits for its server (bounded).
    while (fd_ >= 0 && flock(fd_, LOCK_EX) != 0)
        if (errno != EINTR) {
            close(fd_);
            fd_ = -1;
        }
    if (fd_ < 0) std::fprintf(stderr, "xpmn: %s\n", errno_text("cannot lock " + path).c_str());
}

ServeStartLock::~ServeStartLock() {
    if (fd_ >= 0) close(fd_);
}

void report_ready(int fd, std::uint16_t port) {
    // A starter that gave up waiting closed its end: EPIPE, not a signal.
    signal(SIGPIPE, SIG_IGN);
    const std::string line = std::to_string(port) + "\n";
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        std::fprintf(stderr, "xpmn: %s\n", errno_text("cannot report the port to the starter").c_str());
    close(fd);
}

std::vector<std::string> serve_command(const std::string& config_path, int timeout_s, bool verbose, bool no_e2e) {
    std::vector<std::string> args{"--config", std::filesystem::absolute(config_path).string(), "--timeout",
                                  std::to_string(timeout_s)};
    if (verbose) args.push_back("-v");
    if (no_e2e) args.push_back("--no-e2e");
    args.push_back("serve");
    return args;
}

Result<std::uint16_t> start_background_server(const std::vector<std::string>& args, const std::string& log_file,
                                               std::chrono::seconds limit) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return Error{"internal-server-error", errno_text("pipe")};
    // Everything exec needs is made before fork. The program's own path (not
    // /proc/self/exe, which would make the process's name "exe").
    std::error_code ec;
    const std::string program = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) {
        close(ready[0]);
        close(ready[1]);
        return Error{"internal-server-error", "cannot find the xpmn program: " + ec.message()};
    }
    std::vector<std::string> argv_text{program};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    argv_text.push_back(kReadyFdOption);
    argv_text.push_back(std::to_string(ready[1]));
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) {
        const std::string why = errno_text("cannot open " + log_file);
        close(ready[0]);
        close(ready[1]);
        return Error{"internal-server-error", why};
    }
    const pid_t pid = fork();
    if (pid == 0) {
        // The child: detached from the caller's terminal and its pipes.
        const int null = open("/dev/null", O_RDONLY);
        if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
            fcntl(ready[1], F_SETFD, 0) < 0)
            _exit(127);
        execv(program.c_str(), argv.data());
        _exit(127);
    }
    close(log);
    close(ready[1]);
    if (pid < 0) {
        close(ready[0]);
        return Error{"internal-server-error", errno_text("fork")};
    }
    // Reads the port line; the end of the pipe without one means the server
    // exited (it closes the pipe only after writing, or by dying).
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{ready[0], POLLIN, 0};
        const int n = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(ready[0]);
            return Error{"remote-server-timeout", "xpmn serve did not listen within " + std::to_string(limit.count()) +
                                                      " s (it runs on; see " + log_file + ")"};
        }
        char buf[32];
        const ssize_t r = read(ready[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            close(ready[0]);
            waitpid(pid, nullptr, WNOHANG);
            const std::string why = last_line(log_file);
            return Error{"service-unavailable",
                         "xpmn serve exited before listening" + (why.empty() ? "" : " (" + why + ")") + "; see " + log_file};
        }
        got.append(buf, static_cast<std::size_t>(r));
    }
    close(ready[0]);
    const long port = std::strtol(got.c_str(), nullptr, 10);
    if (port <= 0 || port > 65535) return Error{"internal-server-error", "xpmn serve reported no port: " + got};
    return static_cast<std::uint16_t>(port);
}

}  // namespace xpmn::tools
