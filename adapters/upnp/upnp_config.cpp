#include "adapters/upnp/upnp_config.hpp"

namespace xpmn::upnp {

void UpnpSection::read(config::TomlReader& r, const toml::table* u) {
    if (auto v = r.strings(u, "upnp", "interfaces")) config_.interfaces = *v;
    if (auto v = r.strings(u, "upnp", "include")) config_.include = *v;
    if (auto v = r.strings(u, "upnp", "exclude")) config_.exclude = *v;
    if (auto v = r.integer(u, "upnp", "search_max_depth", 1, 64)) config_.search_max_depth = static_cast<int>(*v);
    if (auto v = r.integer(u, "upnp", "search_max_objects", 1, 100000))
        config_.search_max_objects = static_cast<int>(*v);
    if (auto v = r.integer(u, "upnp", "watch_poll_interval", 1, 3600))
        config_.watch_poll_interval = static_cast<int>(*v);
    if (auto v = r.integer(u, "upnp", "rescan_interval", 0, 86400)) config_.rescan_interval = static_cast<int>(*v);
    if (auto v = r.boolean(u, "upnp", "renderers")) config_.renderers = *v;
    if (auto v = r.boolean(u, "upnp", "show_remote_servers")) config_.show_remote_servers = *v;
}

}  // namespace xpmn::upnp
