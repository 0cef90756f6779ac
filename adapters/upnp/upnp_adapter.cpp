#include "adapters/upnp/upnp_adapter.hpp"

#include <spdlog/spdlog.h>

#include "adapters/upnp/resource_name.hpp"
#include "adapters/upnp/upnp_directory.hpp"
#include "adapters/upnp/upnp_renderer.hpp"
#include "adapters/upnp/upnp_transfers.hpp"
#include "bridge/profiles/directory_profile.hpp"

namespace xpmn::upnp {

namespace {

FinderOptions finder_options(const UpnpConfig& c) {
    FinderOptions o;
    o.interfaces = c.interfaces;
    o.include = c.include;
    o.exclude = c.exclude;
    o.renderers = c.renderers;
    return o;
}

}  // namespace

UpnpAdapter::UpnpAdapter(const bridge::AdapterContext& context, UpnpConfig config)
    : host_(context.host),
      account_(context.config.xmpp.jid.bare().str()),
      access_(context.access),
      config_(std::move(config)),
      finder_(finder_options(config_),
              {[this](const MediaServerInfo& s) { on_available(s); },
               [this](const std::string& udn) { on_unavailable(udn); },
               [this](const RendererInfo& r) { on_renderer_available(r); },
               [this](const std::string& udn) { on_renderer_unavailable(udn); }}) {}

UpnpAdapter::~UpnpAdapter() {
    for (auto& [udn, e] : servers_) e.directory->gone();
    for (auto& [udn, e] : renderers_) e.player->gone();
}

void UpnpAdapter::start() { finder_.start(); }

void UpnpAdapter::stop() {
    stopped_ = true;
    auto servers = std::move(servers_);
    servers_.clear();
    for (auto& [udn, e] : servers) {
        e.directory->gone();
        host_.remove(e.resource);
    }
    auto renderers = std::move(renderers_);
    renderers_.clear();
    for (auto& [udn, e] : renderers) {
        e.player->gone();
        host_.remove(e.resource);
    }
}

void UpnpAdapter::on_available(const MediaServerInfo& server) {
    if (stopped_ || servers_.count(server.udn)) return;
    std::string resource = resource_for_udn("upnp", server.udn);
    std::string full_jid = account_ + "/" + resource;
    DirectoryOptions options;
    options.search = {config_.search_max_depth, config_.search_max_objects};
    options.watch_poll_interval = std::chrono::seconds(config_.watch_poll_interval);
    auto directory = std::make_shared<UpnpDirectory>(host_.io(), server.directory, full_jid, options);
    auto device = std::make_shared<bridge::Device>(
        resource, disco::Identity{"automation", "media-server", "", server.friendly_name});
    profiles::install_directory_profile(host_.io(), *device, directory, access_);
    if (!fetcher_) fetcher_ = std::make_shared<relay::NasFetcher>();
    profiles::install_transfer_profile(*device,
                                       {std::make_shared<UpnpTransfers>(directory, fetcher_), directory,
                                        host_.io().get_executor()},
                                       access_);
    try {
        host_.add(device);
    } catch (const std::exception& e) {
        spdlog::error("upnp: cannot add media server '{}': {}", server.friendly_name, e.what());
        return;
    }
    servers_[server.udn] = {resource, directory};
}

void UpnpAdapter::on_unavailable(const std::string& udn) {
    auto it = servers_.find(udn);
    if (it == servers_.end()) return;
    it->second.directory->gone();
    host_.remove(it->second.resource);
    servers_.erase(it);
}

void UpnpAdapter::on_renderer_available(const RendererInfo& renderer) {
    if (stopped_ || renderers_.count(renderer.udn)) return;
    std::string resource = resource_for_udn("renderer", renderer.udn);
    auto player = std::make_shared<UpnpRenderer>(host_.io(), renderer);
    auto device = std::make_shared<bridge::Device>(
        resource, disco::Identity{"automation", "media-player", "", renderer.friendly_name});
    // The player profile (bridge/profiles/player_profile.hpp, branch `player`) goes here, with
    // the daemon's PlayableResolver (BridgePlayables) once the adapter context carries it:
    // profiles::install_player_profile(host_.io(), *device, player, access_, resolver_);
    try {
        host_.add(device);
    } catch (const std::exception& e) {
        spdlog::error("upnp: cannot add renderer '{}': {}", renderer.friendly_name, e.what());
        player->gone();
        return;
    }
    renderers_[renderer.udn] = {resource, player};
}

void UpnpAdapter::on_renderer_unavailable(const std::string& udn) {
    auto it = renderers_.find(udn);
    if (it == renderers_.end()) return;
    it->second.player->gone();
    host_.remove(it->second.resource);
    renderers_.erase(it);
}

std::unique_ptr<bridge::Adapter> UpnpAdapterKind::create(const bridge::AdapterContext& context) {
    return std::make_unique<UpnpAdapter>(context, section_.config());
}

}  // namespace xpmn::upnp
