// AVTransport times (H+:MM:SS[.F+] or H+:MM:SS[.F0/F1]): renderers answer
// with and without fractions, and NOT_IMPLEMENTED or an empty string when
// they do not know (Rygel's AbsTime). A time beyond kMaxMediaSeconds (31
// years: no medium lasts that long) is nonsense from a renderer and counts as
// unknown, so no later arithmetic or cast on it can overflow.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xpmn::upnp {

// Seconds, or nullopt for NOT_IMPLEMENTED, empty, malformed or absurd text.
std::optional<double> parse_upnp_time(std::string_view text);
// H:MM:SS for a Seek target (whole seconds: every renderer parses that form);
// a negative time is the start (0:00:00); NaN, infinite or beyond
// kMaxMediaSeconds → nullopt.
std::optional<std::string> format_upnp_time(double seconds);

}  // namespace xpmn::upnp
