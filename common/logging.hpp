// Logging for both binaries: one line per event on stderr.
#pragma once

#include <string>

namespace xpmn::common {

// Throws std::invalid_argument for an unknown level name.
void setup_logging(const std::string& level, const std::string& program);

}  // namespace xpmn::common
