// `xpmn play`: the local player it runs, from the controller's config:
//
//   [player]
//   command = ["mpv", "--no-terminal"]   # the URL is appended as the last argument
#pragma once

#include <string>
#include <vector>

#include "config/section.hpp"

namespace xpmn::tools {

class PlayerSection : public config::Section {
public:
    std::vector<std::string> command{"mpv"};

    std::string name() const override { return "player"; }
    void read(config::TomlReader& reader, const toml::table* table) override;
};

// Runs command + url in the foreground (stdin, stdout and stderr are the
// caller's) and returns its exit code; 128+N when a signal N ended it, 127
// when it could not be started (with a message on stderr).
int run_player(const std::vector<std::string>& command, const std::string& url);

}  // namespace xpmn::tools
