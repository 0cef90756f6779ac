// The control socket: owner-only, one line in and one out, bad input gets an
// error line, a silent client is cut off, a live daemon's socket is refused
// and a dead one's replaced; the pair command's URI, answer parsing and QR.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/control_socket.hpp"
#include "daemon/health_command.hpp"
#include "daemon/pair_command.hpp"
#include "daemon/terminal_qr.hpp"

using namespace xpmn;
using namespace std::chrono_literals;

namespace {

struct Control : ::testing::Test {
    boost::asio::io_context io;
    std::string dir;

    void SetUp() override {
        char tmpl[] = "/tmp/xpmn-control-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    // Runs `client` (blocking) on a thread while the io_context serves (the
    // accept loop keeps it busy: stopped when the client is done).
    template <class F>
    void with_client(F client) {
        std::thread t([&] {
            client();
            boost::asio::post(io, [&] { io.stop(); });
        });
        io.run();
        t.join();
        io.restart();
    }
    Result<std::string> request(const std::string& line) {
        Result<std::string> out = Error{"none", ""};
        with_client([&] { out = daemon::control_request(dir, line, 10s); });
        return out;
    }
    // Raw client: sends `bytes`, returns all it reads until the daemon closes.
    std::string raw(const std::string& bytes) {
        std::string got;
        with_client([&] {
            int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::string path = dir + "/control.sock";
            std::strcpy(addr.sun_path, path.c_str());
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
            if (!bytes.empty()) (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            char buf[512];
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
            ::close(fd);
        });
        return got;
    }
    mode_t mode(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
        return st.st_mode & 0777;
    }
};

TEST_F(Control, OwnerOnlyAndAnswersCommands) {
    ::chmod(dir.c_str(), 0755);
    daemon::ControlSocket control(io, dir);
    EXPECT_EQ(control.path(), dir + "/control.sock");
    EXPECT_EQ(mode(dir), 0700u);
    EXPECT_EQ(mode(control.path()), 0600u);
    int calls = 0;
    control.on("pair", [&]() -> Result<std::string> { ++calls; return std::string("pin=123456 fp=ab"); });
    control.on("fail", []() -> Result<std::string> { return Error{"not-allowed", "no certificate"}; });
    auto r = request("pair");
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(*r, "ok pin=123456 fp=ab");
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(*request("fail"), "error not-allowed: no certificate");
    EXPECT_EQ(*request("status"), "error unknown command 'status'");
}

TEST_F(Control, BadInputGetsAnErrorLine) {
    daemon::ControlSocket control(io, dir, 100ms);
    control.on("pair", []() -> Result<std::string> { return std::string("x=1"); });
    EXPECT_EQ(raw(std::string(1000, 'p') + "\n"), "error command longer than 256 bytes\n");
    EXPECT_EQ(raw("pa\x01ir\n"), "error the command must be printable ASCII\n");
    EXPECT_EQ(raw("pair\r\n"), "ok x=1\n");
    EXPECT_EQ(raw(""), "error no command within 100 ms\n");  // silent: cut off
    EXPECT_EQ(raw("pai"), "error no command within 100 ms\n");
    EXPECT_EQ(raw("pair\n"), "ok x=1\n");  // still serving
}

TEST_F(Control, ALiveDaemonsSocketIsRefused) {
    daemon::ControlSocket first(io, dir);
    try {
        daemon::ControlSocket second(io, dir);
        FAIL() << "two daemons on one state_dir";
    } catch (const daemon::ControlSocketError& e) {
        EXPECT_NE(std::string(e.what()).find("another xpmn-bridge is running"), std::string::npos) << e.what();
    }
    first.on("pair", []() -> Result<std::string> { return std::string("x=1"); });
    EXPECT_EQ(*request("pair"), "ok x=1");  // the first is untouched
}

TEST_F(Control, ADeadDaemonsSocketIsReplaced) {
    std::string path = dir + "/control.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);  // the socket file stays, nobody listens
    daemon::ControlSocket control(io, dir);
    control.on("pair", []() -> Result<std::string> { return std::string("x=1"); });
    EXPECT_EQ(*request("pair"), "ok x=1");
}

TEST_F(Control, SomethingElseAtThePathIsNotTouched) {
    std::ofstream(dir + "/control.sock") << "mine";
    EXPECT_THROW(daemon::ControlSocket(io, dir), daemon::ControlSocketError);
    EXPECT_TRUE(std::filesystem::is_regular_file(dir + "/control.sock"));
}

TEST_F(Control, NoDaemonIsAClearError) {
    auto r = daemon::control_request(dir, "pair", 1s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().condition, "service-unavailable");
    EXPECT_NE(r.error().text.find("no xpmn-bridge is running"), std::string::npos);
    { daemon::ControlSocket gone(io, dir); }
    EXPECT_FALSE(std::filesystem::exists(dir + "/control.sock"));  // removed at the end
    EXPECT_EQ(daemon::run_pair(dir, std::cout, std::cerr), daemon::kPairNoDaemon);
}

TEST(PairCommand, UriAndAnswer) {
    EXPECT_EQ(daemon::pairing_uri("home@example.org/bridge", "012345", std::string(64, 'a')),
              "xmpp:home@example.org/bridge?pair;pin=012345;fp=" + std::string(64, 'a'));
    EXPECT_EQ(daemon::pairing_uri("h?me@ex ample/b;r", "1", "f"), "xmpp:h%3Fme@ex%20ample/b%3Br?pair;pin=1;fp=f");
    auto fields = daemon::parse_answer("pin=1 expires=2026-12-01T22:00:00Z junk fp=ab");
    EXPECT_EQ(fields["pin"], "1");
    EXPECT_EQ(fields["expires"], "2026-12-01T22:00:00Z");
    EXPECT_EQ(fields["fp"], "ab");
    EXPECT_EQ(fields.count("junk"), 0u);
}

TEST(PairCommand, QrCodeIsSquareWithAQuietZone) {
    std::string qr = daemon::terminal_qr("xmpp:home@example.org/bridge?pair;pin=012345;fp=" + std::string(64, 'a'));
    std::vector<std::string> lines;
    std::istringstream in(qr);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    ASSERT_GT(lines.size(), 10u);
    // Each line: width + 4 cells of 3-byte half blocks or 1-byte spaces; the first row is all light.
    EXPECT_EQ(lines.front().find(' '), std::string::npos);
    std::size_t cells = 0;
    for (std::size_t i = 0; i < lines[3].size(); i += (lines[3][i] == ' ' ? 1 : 3)) ++cells;
    EXPECT_GE(cells + 1, lines.size() * 2 - 1);  // about as wide as tall (two rows a line)
    EXPECT_LE(cells, lines.size() * 2 + 1);
}

}  // namespace

// `health`: the daemon's answer survives the line format (spaces, commas and
// '%' in an error or a resource), and the printed line says healthy or not.
TEST(HealthCommand, AnswerRoundTripsAndTheLineSaysWhatIsWrong) {
    daemon::HealthReport r{true, {"bridge", "nas,1"}, 3, "bridge: connect 127.0.0.1:5222: 100% refused",
                           *common::parse_rfc3339("2026-12-02T18:00:00Z")};
    std::string answer = daemon::health_answer(r);
    EXPECT_EQ(answer.find('\n'), std::string::npos);
    auto back = daemon::parse_health_answer(answer);
    EXPECT_TRUE(back.bridge_online);
    EXPECT_EQ(back.online, r.online);
    EXPECT_EQ(back.devices, 3u);
    EXPECT_EQ(back.last_error, r.last_error);
    EXPECT_EQ(back.last_error_at, r.last_error_at);
    EXPECT_EQ(daemon::health_line(back),
              "healthy: XMPP connected, bridge presence online; 2 of 3 devices online (bridge, nas,1); "
              "last error: 2026-12-02T18:00:00Z bridge: connect 127.0.0.1:5222: 100% refused");

    auto down = daemon::parse_health_answer(daemon::health_answer({false, {}, 1, "", {}}));
    EXPECT_FALSE(down.bridge_online);
    EXPECT_TRUE(down.online.empty());
    EXPECT_EQ(daemon::health_line(down), "unhealthy: XMPP not connected; 0 of 1 devices online; last error: none");
}
