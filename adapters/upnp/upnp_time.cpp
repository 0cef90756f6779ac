#include "adapters/upnp/upnp_time.hpp"

#include <cmath>
#include <cstdio>

#include "mappings/didl/didl_values.hpp"

namespace xpmn::upnp {

std::optional<double> parse_upnp_time(std::string_view t) {
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);  // a relative time's sign
    return mappings::parse_duration(t);  // the same grammar as res@duration; NOT_IMPLEMENTED fails it
}

std::string format_upnp_time(double seconds) {
    long total = seconds > 0 && std::isfinite(seconds) ? std::lround(seconds) : 0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
    return buf;
}

}  // namespace xpmn::upnp
