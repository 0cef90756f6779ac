// The [mpris] section: which bus, which players, how long a player may take
// to answer.
#pragma once

#include <string>
#include <vector>

#include "config/section.hpp"

namespace xpmn::mpris {

struct MprisConfig {
    bool enabled = true;
    std::string bus = "session";       // "session", "system" or a D-Bus address
    std::vector<std::string> include;  // globs on the name after org.mpris.MediaPlayer2. or
    std::vector<std::string> exclude;  // on the Identity; empty include: all players
    int call_timeout_ms = 5000;        // every D-Bus call to a player
};

class MprisSection : public config::Section {
public:
    std::string name() const override { return "mpris"; }
    void read(config::TomlReader& reader, const toml::table* table) override;
    const MprisConfig& config() const { return config_; }

private:
    MprisConfig config_;
};

}  // namespace xpmn::mpris
