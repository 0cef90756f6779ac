// The [player] section and running the player.
#include "tools/xpmn/serve_player.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace xpmn::tools {

void PlayerSection::read(config::TomlReader& reader, const toml::table* table) {
    auto v = reader.strings(table, "player", "command");
    if (!v) return;
    if (v->empty() || v->front().empty())
        reader.error(table->get("command")->source(), "player.command must name a program");
    else
        command = *v;
}

int run_player(const std::vector<std::string>& command, const std::string& url) {
    std::vector<std::string> args = command;
    args.push_back(url);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
        std::cerr << "xpmn: fork: " << std::strerror(errno) << "\n";
        return 127;
    }
    if (pid == 0) {
        execvp(argv[0], argv.data());
        std::cerr << "xpmn: cannot run " << args.front() << ": " << std::strerror(errno) << "\n";
        _exit(127);
    }
    // Like system(): Ctrl-C is the player's to handle; xpmn reports how it ended.
    struct sigaction ignore {}, old_int {}, old_quit {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            std::cerr << "xpmn: waitpid: " << std::strerror(errno) << "\n";
            status = W_EXITCODE(127, 0);
            break;
        }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

}  // namespace xpmn::tools
