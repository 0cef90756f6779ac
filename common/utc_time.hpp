// Timestamps in state files and on the wire: RFC 3339 (XEP-0082 DateTime).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace xpmn::common {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-12-01T22:00:00Z" (whole seconds, UTC).
std::string format_utc(SystemTime t);
// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), converted to UTC; the
// fraction is dropped. nullopt when malformed or out of range.
std::optional<SystemTime> parse_rfc3339(std::string_view text);

}  // namespace xpmn::common
