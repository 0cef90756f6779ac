#include "adapters/upnp/upnp_time.hpp"

#include <cmath>
#include <cstdio>

#include "mappings/didl/didl_values.hpp"

namespace xpmn::upnp {

std::optional<double> parse_upnp_time(std::string_view t) {
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);  // a relative time's sign
    auto seconds = mappings::parse_duration(t);  // the same grammar as res@duration; NOT_IMPLEMENTED fails it
    if (!seconds || *seconds > mappings::kMaxMediaSeconds) return std::nullopt;
    return seconds;
}

std::optional<std::string> format_upnp_time(double seconds) {
    if (std::isnan(seconds) || seconds > mappings::kMaxMediaSeconds) return std::nullopt;
    long total = seconds > 0 ? std::lround(seconds) : 0;  // within long: checked above
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
    return std::string(buf);
}

}  // namespace xpmn::upnp
