// The UPnP adapter: every MediaServer the finder reports becomes a
// MediaServer device `BARE/upnp-<h>` on the DeviceHost, with the Directory
// profile backed by that server's ContentDirectory; it is removed (unavailable
// presence) when the server leaves and comes back with the same resource.
// With `[upnp] renderers` (the default), every MediaRenderer becomes a
// media-player device `BARE/renderer-<h>` the same way, backed by an
// UpnpRenderer (profiles::MediaPlayer). With `[upnp] show_remote_servers`,
// the media servers of other bridges this one is paired with are shown on
// the same networks as UPnP MediaServers (LanExport).
#pragma once

#include "bridge/relay/nas_fetch.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "adapters/upnp/media_server_finder.hpp"
#include "adapters/upnp/upnp_config.hpp"
#include "bridge/adapter.hpp"

namespace xpmn::upnp {

class LanExport;
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
    std::shared_ptr<profiles::MediaSources> sources_;
    std::shared_ptr<profiles::PlayableResolver> playables_;
    std::shared_ptr<client::CapsCache> caps_;  // controllers' caps, shared by the bridge's players
    UpnpConfig config_;
    MediaServerFinder finder_;
    std::unique_ptr<LanExport> export_;  // [upnp] show_remote_servers; goes before the finder's contexts
    bool stopped_ = false;
    // A device of this adapter: its resource, and what to tell its backend when it goes.
    struct Entry {
        std::string resource;
        std::function<void()> gone;
    };
    using Entries = std::map<std::string, Entry>;  // by UDN
    // Adds `device` as the entry of `udn` in `entries`; false (logged) if the host refuses it.
    bool add(Entries& entries, const std::string& udn, std::shared_ptr<bridge::Device> device, Entry entry,
             const std::string& friendly_name);
    void remove(Entries& entries, const std::string& udn);
    void remove_all(Entries& entries);

    Entries servers_;
    Entries renderers_;
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
