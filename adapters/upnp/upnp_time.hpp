// AVTransport times (H+:MM:SS[.F+] or H+:MM:SS[.F0/F1]): renderers answer
// with and without fractions, and NOT_IMPLEMENTED or an empty string when
// they do not know (Rygel's AbsTime).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xpmn::upnp {

// Seconds, or nullopt for NOT_IMPLEMENTED, empty or malformed text.
std::optional<double> parse_upnp_time(std::string_view text);
// H:MM:SS for a Seek target (whole seconds: every renderer parses that form).
std::string format_upnp_time(double seconds);

}  // namespace xpmn::upnp
