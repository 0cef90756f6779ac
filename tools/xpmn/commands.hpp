// The xpmn subcommands. Each prints its result on stdout and calls done(exit code).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/xpmn/controller.hpp"

namespace xpmn::tools {

void list_devices(Controller& c, Controller::Done done);

struct BrowseOptions {
    std::string device;
    std::string id = "0";
    std::uint32_t start = 0;
    std::uint32_t max = 100;
    bool xml = false;
};
void browse(Controller& c, const BrowseOptions& options, Controller::Done done);

struct SearchOptions {
    std::string device;
    std::vector<std::string> terms;  // key=value
    std::string container = "0";
    std::uint32_t start = 0;
    std::uint32_t max = 100;
    bool xml = false;
};
void search(Controller& c, const SearchOptions& options, Controller::Done done);
struct WatchOptions {
    std::string device;
    std::string id = "0";
    unsigned count = 0;  // end after this many changes; 0: until SIGINT/SIGTERM
};
void watch(Controller& c, const WatchOptions& options, Controller::Done done);

void show_disco(Controller& c, const std::string& jid, Controller::Done done);

}  // namespace xpmn::tools
