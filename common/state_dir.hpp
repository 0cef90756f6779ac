// The state directory (keys, trust store later): created with mode 0700.
#pragma once

#include <string>

namespace xpmn::common {

// Creates the directory (and parents) if missing; throws std::runtime_error
// with a clear message when it cannot, or when it is not a directory.
void ensure_state_dir(const std::string& path);

}  // namespace xpmn::common
