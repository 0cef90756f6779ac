// The UPnP adapter: every MediaServer the finder reports becomes a
// MediaServer device `BARE/upnp-<h>` on the DeviceHost, with the Directory
// profile backed by that server's ContentDirectory; it is removed (unavailable
// presence) when the server leaves and comes back with the same resource.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "adapters/upnp/media_server_finder.hpp"
#include "bridge/access_policy.hpp"
#include "bridge/device_host.hpp"
#include "config/config.hpp"

namespace xpmn::upnp {

class UpnpDirectory;

class UpnpAdapter {
public:
    UpnpAdapter(bridge::DeviceHost& host, const config::Config& config,
                std::shared_ptr<const bridge::AccessPolicy> access);
    ~UpnpAdapter();
    void start();

private:
    void on_available(const MediaServerInfo& server);
    void on_unavailable(const std::string& udn);

    bridge::DeviceHost& host_;
    const config::Config& config_;
    std::shared_ptr<const bridge::AccessPolicy> access_;
    MediaServerFinder finder_;
    struct Entry {
        std::string resource;
        std::shared_ptr<UpnpDirectory> directory;
    };
    std::map<std::string, Entry> servers_;  // by UDN
};

}  // namespace xpmn::upnp
