// The [upnp] section: which interfaces and devices (servers, renderers), and
// the limits of the fallback search and of watching.
#pragma once

#include <string>
#include <vector>

#include "config/section.hpp"

namespace xpmn::upnp {

struct UpnpConfig {
    std::vector<std::string> interfaces;  // empty: all
    std::vector<std::string> include;     // UDN / friendly-name globs; empty: all servers
    std::vector<std::string> exclude;
    int search_max_depth = 8;             // fallback search by browsing: how deep
    int search_max_objects = 5000;        // … and how many objects at most
    int watch_poll_interval = 5;          // seconds between polls of a watched server
    int rescan_interval = 300;            // seconds between SSDP searches after the first; 0: none
    bool renderers = true;                // MediaRenderers become player devices too
    bool show_remote_servers = false;     // other bridges' servers as UPnP MediaServers on the LAN
};

class UpnpSection : public config::Section {
public:
    std::string name() const override { return "upnp"; }
    void read(config::TomlReader& reader, const toml::table* table) override;
    const UpnpConfig& config() const { return config_; }

private:
    UpnpConfig config_;
};

}  // namespace xpmn::upnp
