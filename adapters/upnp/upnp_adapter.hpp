// The UPnP adapter: every MediaServer the finder reports becomes a
// MediaServer device `BARE/upnp-<h>` on the DeviceHost, with the Directory
// profile backed by that server's ContentDirectory; it is removed (unavailable
// presence) when the server leaves and comes back with the same resource.
// With `[upnp] renderers` (the default), every MediaRenderer becomes a
// media-player device `BARE/renderer-<h>` the same way, backed by an
// UpnpRenderer (profiles::MediaPlayer).
#pragma once

#include "bridge/relay/nas_fetch.hpp"

#include <map>
#include <memory>
#include <string>

#include "adapters/upnp/media_server_finder.hpp"
#include "adapters/upnp/upnp_config.hpp"
#include "bridge/adapter.hpp"

namespace xpmn::upnp {

class UpnpDirectory;
class UpnpRenderer;

class UpnpAdapter : public bridge::Adapter {
public:
    UpnpAdapter(const bridge::AdapterContext& context, UpnpConfig config);
    ~UpnpAdapter() override;
    void start() override;
    void stop() override;

private:
    void on_available(const MediaServerInfo& server);
    void on_unavailable(const std::string& udn);
    void on_renderer_available(const RendererInfo& renderer);
    void on_renderer_unavailable(const std::string& udn);

    bridge::DeviceHost& host_;
    std::string account_;  // bare JID
    std::shared_ptr<const bridge::AccessPolicy> access_;
    UpnpConfig config_;
    MediaServerFinder finder_;
    bool stopped_ = false;
    struct Entry {
        std::string resource;
        std::shared_ptr<UpnpDirectory> directory;
    };
    std::map<std::string, Entry> servers_;  // by UDN
    struct RendererEntry {
        std::string resource;
        std::shared_ptr<UpnpRenderer> player;
    };
    std::map<std::string, RendererEntry> renderers_;  // by UDN
    std::shared_ptr<relay::NasFetcher> fetcher_;  // one keep-alive HTTP session for every NAS
};

// The [upnp] section and the factory, for the daemon's adapter registry.
class UpnpAdapterKind : public bridge::AdapterKind {
public:
    std::string name() const override { return section_.name(); }
    void read(config::TomlReader& reader, const toml::table* table) override { section_.read(reader, table); }
    std::unique_ptr<bridge::Adapter> create(const bridge::AdapterContext& context) override;

private:
    UpnpSection section_;
};

}  // namespace xpmn::upnp
