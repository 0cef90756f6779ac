#include "adapters/upnp/upnp_adapter.hpp"

#include <spdlog/spdlog.h>

#include "adapters/upnp/lan_export.hpp"
#include "adapters/upnp/resource_name.hpp"
#include "adapters/upnp/upnp_directory.hpp"
#include "adapters/upnp/upnp_renderer.hpp"
#include "adapters/upnp/upnp_transfers.hpp"
#include "bridge/profiles/directory_profile.hpp"
#include "bridge/profiles/player_profile.hpp"

namespace xpmn::upnp {

namespace {

FinderOptions finder_options(const UpnpConfig& c) {
    FinderOptions o;
    o.interfaces = c.interfaces;
    o.include = c.include;
    o.exclude = c.exclude;
    o.renderers = c.renderers;
    o.rescan_interval = std::chrono::seconds(c.rescan_interval);
    return o;
}

}  // namespace

UpnpAdapter::UpnpAdapter(const bridge::AdapterContext& context, UpnpConfig config)
    : host_(context.host),
      account_(context.config.xmpp.jid.bare().str()),
      access_(context.access),
      sources_(context.media_sources),
      playables_(context.playables),
      caps_(context.caps),
      config_(std::move(config)),
      finder_(finder_options(config_),
              {[this](const MediaServerInfo& s) { on_available(s); },
               [this](const std::string& udn) { on_unavailable(udn); },
               [this](const RendererInfo& r) { on_renderer_available(r); },
               [this](const std::string& udn) { on_renderer_unavailable(udn); },
               [this](GUPnPContext* c) {
                   if (export_) export_->context_available(c);
               },
               [this](GUPnPContext* c) {
                   if (export_) export_->context_unavailable(c);
               }}) {
    if (config_.show_remote_servers && context.remote && context.trust)
        export_ = std::make_unique<LanExport>(context.io, context.remote, context.trust,
                                              context.config.bridge.state_dir + "/upnp-export");
}

UpnpAdapter::~UpnpAdapter() {
    for (auto* entries : {&servers_, &renderers_})
        for (auto& [udn, e] : *entries) e.gone();
}

void UpnpAdapter::start() {
    if (export_) export_->start();
    finder_.start();
}

void UpnpAdapter::stop() {
    stopped_ = true;
    if (export_) export_->stop();
    remove_all(servers_);
    remove_all(renderers_);
}

bool UpnpAdapter::add(Entries& entries, const std::string& udn, std::shared_ptr<bridge::Device> device, Entry entry,
                      const std::string& friendly_name) {
    try {
        host_.add(device);
    } catch (const std::exception& e) {
        spdlog::error("upnp: cannot add '{}' ({}): {}", friendly_name, entry.resource, e.what());
        entry.gone();
        return false;
    }
    entries[udn] = std::move(entry);
    return true;
}

void UpnpAdapter::remove(Entries& entries, const std::string& udn) {
    auto it = entries.find(udn);
    if (it == entries.end()) return;
    it->second.gone();
    host_.remove(it->second.resource);
    entries.erase(it);
}

void UpnpAdapter::remove_all(Entries& entries) {
    auto all = std::move(entries);
    entries.clear();
    for (auto& [udn, e] : all) {
        e.gone();
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
    auto transfers = std::make_shared<UpnpTransfers>(directory, fetcher_);
    profiles::TransferServices services;
    services.transfers = transfers;
    services.directory = directory;
    services.executor = host_.io().get_executor();
    profiles::install_transfer_profile(*device, std::move(services), access_);
    auto gone = [directory, sources = sources_, resource] {
        directory->gone();
        sources->remove(resource);
    };
    if (add(servers_, server.udn, device, {resource, std::move(gone)}, server.friendly_name))
        sources_->add(resource, {transfers, directory});
}

void UpnpAdapter::on_unavailable(const std::string& udn) { remove(servers_, udn); }

void UpnpAdapter::on_renderer_available(const RendererInfo& renderer) {
    if (stopped_ || renderers_.count(renderer.udn)) return;
    std::string resource = resource_for_udn("renderer", renderer.udn);
    auto player = std::make_shared<UpnpRenderer>(host_.io(), renderer);
    auto device = std::make_shared<bridge::Device>(
        resource, disco::Identity{"automation", "media-player", "", renderer.friendly_name});
    profiles::install_player_profile(host_.io(), *device, player, access_, playables_, {}, caps_);
    add(renderers_, renderer.udn, device, {resource, [player] { player->gone(); }}, renderer.friendly_name);
}

void UpnpAdapter::on_renderer_unavailable(const std::string& udn) { remove(renderers_, udn); }

std::unique_ptr<bridge::Adapter> UpnpAdapterKind::create(const bridge::AdapterContext& context) {
    return std::make_unique<UpnpAdapter>(context, section_.config());
}

}  // namespace xpmn::upnp
