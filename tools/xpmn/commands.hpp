// The xpmn subcommands. Each prints its result on stdout and calls done(exit code).
#pragma once

#include <string>

#include "tools/xpmn/controller.hpp"

namespace xpmn::tools {

void list_devices(Controller& c, Controller::Done done);
void show_disco(Controller& c, const std::string& jid, Controller::Done done);

}  // namespace xpmn::tools
