#include "daemon/health_command.hpp"

#include <cctype>
#include <cstdlib>
#include <ostream>

#include "daemon/control_socket.hpp"
#include "daemon/pair_command.hpp"

namespace xpmn::daemon {
namespace {

// Printable ASCII except the separators (' ', ',', '%') stays; the rest is %XX.
std::string encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (c > 0x20 && c < 0x7f && c != '%' && c != ',') {
            out.push_back(static_cast<char>(c));
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out.push_back(static_cast<char>(std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep, bool encoded) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : sep) + (encoded ? encode(item) : item);
    return out;
}

}  // namespace

std::string health_answer(const HealthReport& r) {
    std::string out = std::string("bridge=") + (r.bridge_online ? "online" : "offline") +
                      " devices=" + std::to_string(r.devices) + " online=" + join(r.online, ",", true);
    if (!r.last_error.empty())
        out += " last_error=" + encode(r.last_error) + " last_error_at=" + common::format_utc(r.last_error_at);
    return out;
}

HealthReport parse_health_answer(const std::string& answer) {
    auto fields = parse_answer(answer);
    HealthReport r;
    r.bridge_online = fields["bridge"] == "online";
    r.devices = static_cast<std::size_t>(std::strtoul(fields["devices"].c_str(), nullptr, 10));
    const std::string& online = fields["online"];
    for (std::size_t start = 0; start < online.size();) {
        auto comma = online.find(',', start);
        if (comma == std::string::npos) comma = online.size();
        r.online.push_back(decode(online.substr(start, comma - start)));
        start = comma + 1;
    }
    r.last_error = decode(fields["last_error"]);
    if (auto at = common::parse_rfc3339(fields["last_error_at"])) r.last_error_at = *at;
    return r;
}

std::string health_line(const HealthReport& r) {
    std::string line = r.bridge_online ? "healthy: XMPP connected, bridge presence online; "
                                       : "unhealthy: XMPP not connected; ";
    line += std::to_string(r.online.size()) + " of " + std::to_string(r.devices) + " devices online";
    if (!r.online.empty()) line += " (" + join(r.online, ", ", false) + ")";
    line += "; last error: ";
    line += r.last_error.empty() ? "none" : common::format_utc(r.last_error_at) + " " + r.last_error;
    return line;
}

int run_health(const std::string& state_dir, std::ostream& out, std::ostream& err) {
    auto answer = control_request(state_dir, "health");
    if (!answer) {
        out << "unhealthy: " << answer.error().text << "\n";
        return answer.error().condition == "service-unavailable" ? kHealthNoDaemon : kUnhealthy;
    }
    if (!answer->starts_with("ok ")) {
        err << "xpmn-bridge health: the daemon refused: " << *answer << "\n";
        out << "unhealthy: the daemon did not report its health\n";
        return kUnhealthy;
    }
    HealthReport report = parse_health_answer(answer->substr(3));
    out << health_line(report) << "\n";
    return report.bridge_online ? kHealthy : kUnhealthy;
}

}  // namespace xpmn::daemon
