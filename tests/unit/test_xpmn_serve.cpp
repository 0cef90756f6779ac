// `xpmn serve`'s helpers: the URL of a transfer, the serve.port file (a
// stale one is ignored: its process gone, or its port not answering), the
// [player] section and running the player.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "tools/xpmn/serve_player.hpp"
#include "tools/xpmn/serve_state.hpp"

using namespace xpmn;
using tools::ServePortFile;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/xpmn-serve-unit-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path + "/" + name) << text; }
    std::string read(const std::string& name) const {
        std::ifstream in(path + "/" + name);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
};

// A listening socket on 127.0.0.1 (port 0: any free one).
struct Listener {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    std::uint16_t port = 0;
    Listener() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 4) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            ADD_FAILURE() << "cannot listen on 127.0.0.1";
        port = ntohs(a.sin_port);
    }
    ~Listener() { close(fd); }
};

}  // namespace

TEST(ServeUrl, PercentEncodesTheWholeUri) {
    EXPECT_EQ(tools::serve_url(8080, "xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=64%243%242"),
              "http://127.0.0.1:8080/xmpp%3Ahome%40example.org%2Fupnp-3fa2c1d0%3Ftransfer%3Buid%3D64%25243%25242");
    EXPECT_EQ(tools::serve_url(1, ""), "http://127.0.0.1:1/");
}

TEST(ServePortFile, PublishedWhileLiveAndWithdrawn) {
    TempDir dir;
    Listener listener;
    ServePortFile file(dir.path);
    EXPECT_FALSE(file.live_port());
    file.publish(listener.port);
    EXPECT_EQ(dir.read("serve.port"), std::to_string(listener.port) + " " + std::to_string(getpid()) + "\n");
    EXPECT_EQ(file.live_port(), listener.port);
    // No temporary file is left next to it.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path), {}), 1);
    file.withdraw();
    EXPECT_FALSE(std::filesystem::exists(file.path()));
    EXPECT_FALSE(file.live_port());
}

TEST(ServePortFile, WithdrawLeavesAnotherServersFile) {
    TempDir dir;
    dir.write("serve.port", "4242 1\n");  // pid 1 is not this process
    ServePortFile(dir.path).withdraw();
    EXPECT_EQ(dir.read("serve.port"), "4242 1\n");
}

TEST(ServePortFile, StaleOrBrokenFilesAreIgnored) {
    TempDir dir;
    ServePortFile file(dir.path);
    {
        Listener closed;  // a port nobody listens on once this ends
        dir.write("serve.port", std::to_string(closed.port) + " " + std::to_string(getpid()) + "\n");
    }
    EXPECT_FALSE(file.live_port()) << "the port does not answer";
    Listener listener;
    // The process is gone (a child that has been reaped).
    const pid_t child = fork();
    if (child == 0) _exit(0);
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    dir.write("serve.port", std::to_string(listener.port) + " " + std::to_string(child) + "\n");
    EXPECT_FALSE(file.live_port()) << "the process is gone";
    for (const char* junk : {"", "abc", "70000 1\n", "-1 5\n", "80\n", "80 0\n"}) {
        dir.write("serve.port", junk);
        EXPECT_FALSE(file.live_port()) << junk;
    }
}

TEST(ServePortFile, PublishFailsClearly) {
    ServePortFile file("/nonexistent-dir/for/sure");
    EXPECT_THROW(file.publish(80), std::runtime_error);
}

TEST(ServeCommand, CarriesTheGlobalOptions) {
    const auto args = tools::serve_command("relative.toml", 7, true, true);
    ASSERT_EQ(args.size(), 7u);
    EXPECT_EQ(args[0], "--config");
    EXPECT_EQ(args[1], (std::filesystem::current_path() / "relative.toml").string());
    EXPECT_EQ(args[3], "7");
    EXPECT_EQ(args.back(), "serve");
    EXPECT_EQ(tools::serve_command("/a.toml", 20, false, false),
              (std::vector<std::string>{"--config", "/a.toml", "--timeout", "20", "serve"}));
}

TEST(RunPlayer, ExitCodeSignalAndMissingProgram) {
    EXPECT_EQ(tools::run_player({"sh", "-c", "test \"$0\" = http://x/ && exit 3"}, "http://x/"), 3);
    EXPECT_EQ(tools::run_player({"true"}, "http://x/"), 0);
    EXPECT_EQ(tools::run_player({"sh", "-c", "kill -TERM $$"}, "u"), 128 + SIGTERM);
    EXPECT_EQ(tools::run_player({"/nonexistent/player"}, "u"), 127);
}

TEST(PlayerSection, DefaultCommandAndErrors) {
    TempDir dir;
    const std::string base = "[xmpp]\njid = \"a@example.org\"\npassword = \"x\"\n";
    auto load = [&](const std::string& extra, tools::PlayerSection& player) {
        dir.write("c.toml", base + extra);
        return config::load(dir.path + "/c.toml", {&player}, config::OtherTables::Ignore);
    };
    tools::PlayerSection defaults;
    load("", defaults);
    EXPECT_EQ(defaults.command, (std::vector<std::string>{"mpv"}));
    tools::PlayerSection player;
    load("[player]\ncommand = [\"mpv\", \"--no-terminal\"]\n", player);
    EXPECT_EQ(player.command, (std::vector<std::string>{"mpv", "--no-terminal"}));
    for (const char* bad : {"[player]\ncommand = []\n", "[player]\ncommand = [\"\"]\n", "[player]\ncommand = 3\n",
                            "[player]\nprogram = [\"vlc\"]\n"}) {
        tools::PlayerSection p;
        EXPECT_THROW(load(bad, p), config::ConfigError) << bad;
    }
}
