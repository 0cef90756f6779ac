// Numbers as xpmn prints them: sizes in binary units, durations as a clock.
#pragma once

#include <string>

namespace xpmn::tools {

std::string bytes_text(double bytes);    // "512 B", "3.4 MiB"
std::string clock_text(long seconds);    // "3:07", "1:02:03"

}  // namespace xpmn::tools
