#include "daemon/web/web_config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <stdexcept>

namespace xpmn::daemon::web {

std::string ListenAddress::text() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

std::optional<ListenAddress> parse_listen(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string host(text.substr(0, colon));
    std::string_view port_text = text.substr(colon + 1);
    bool v6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (v6) host = host.substr(1, host.size() - 2);
    unsigned char buf[16];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1) return std::nullopt;
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return std::nullopt;
    return ListenAddress{host, static_cast<std::uint16_t>(port)};
}

void WebSection::read(config::TomlReader& r, const toml::table* t) {
    if (!t) return;
    if (auto v = r.string(t, "web", "listen"); v && !v->empty()) {
        config_.listen = parse_listen(*v);
        if (!config_.listen)
            r.error(t->get("listen")->source(),
                    "web.listen: '" + *v + "' is not IPv4:port or [IPv6]:port (an IP address, not a name)");
    }
    if (auto v = r.string(t, "web", "password_file")) config_.password_file = *v;
    if (config_.listen && config_.password_file.empty())
        r.error(t->source(), "[web] listen needs password_file (a file holding the page's password)");
}

std::string read_password_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("web.password_file " + path + ": cannot be read");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw std::runtime_error("web.password_file " + path + ": empty first line (no password)");
    return line;
}

}  // namespace xpmn::daemon::web
