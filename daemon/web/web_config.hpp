// `[web]`: the status and pairing page (docs/web.md). Off unless `listen`
// is set; then `password_file` is required (the password is read from that
// file at start, never from the environment or the configuration itself).
//   [web]
//   listen = "127.0.0.1:8080"        # IPv4:port or [IPv6]:port; a LAN address to serve the LAN
//   password_file = "/config/web-password"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/section.hpp"

namespace xpmn::daemon::web {

struct ListenAddress {
    std::string host;  // an IP literal, without brackets
    std::uint16_t port = 0;
    std::string text() const;  // "127.0.0.1:8080" / "[::1]:8080": what a browser sends as Host
    bool wildcard() const { return host == "0.0.0.0" || host == "::"; }
};

// "IPv4:port" or "[IPv6]:port" with an IP literal (no names: the page must
// bind exactly where the owner said) and a port 1-65535; nullopt otherwise.
std::optional<ListenAddress> parse_listen(std::string_view text);

struct WebConfig {
    std::optional<ListenAddress> listen;  // nullopt: no page
    std::string password_file;
};

class WebSection : public config::Section {
public:
    std::string name() const override { return "web"; }
    void read(config::TomlReader& reader, const toml::table* table) override;
    const WebConfig& config() const { return config_; }

private:
    WebConfig config_;
};

// The password: the file's first line (a trailing "\n" or "\r\n" dropped).
// Throws std::runtime_error when the file cannot be read or is empty.
std::string read_password_file(const std::string& path);

}  // namespace xpmn::daemon::web
