// The seam between the core and one kind of legacy device (UPnP servers,
// MPRIS players, …). An adapter kind reads its own configuration section
// and makes the adapter; the adapter watches its world on the one event loop
// and adds and removes Devices on the DeviceHost. The core never names a
// kind: the daemon's composition root (daemon/adapter_registry.cpp) lists
// them, and adding a kind is one folder under adapters/ plus that line.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>

#include "bridge/access_policy.hpp"
#include "bridge/device_host.hpp"
#include "bridge/profiles/media_sources.hpp"
#include "bridge/profiles/playable_resolver.hpp"
#include "bridge/profiles/remote_items.hpp"
#include "config/config.hpp"
#include "config/section.hpp"
#include "xmpp/client/caps_cache.hpp"

namespace xpmn::bridge {

// What every adapter works with.
struct AdapterContext {
    boost::asio::io_context& io;
    DeviceHost& host;
    const config::Config& config;  // the common sections (the account, security)
    std::shared_ptr<const AccessPolicy> access;
    // Media-server adapters register their devices here (players open their items) …
    std::shared_ptr<profiles::MediaSources> media_sources = std::make_shared<profiles::MediaSources>();
    // … and player adapters give this to install_player_profile (what `open` may play).
    std::shared_ptr<profiles::PlayableResolver> playables;
    // … and the controllers' caps (automatic event delivery), shared by every player device.
    std::shared_ptr<client::CapsCache> caps = std::make_shared<client::CapsCache>();
    // This bridge as a controller of other bridges (their items for local
    // players, their servers shown on the LAN), and its trust store.
    std::shared_ptr<profiles::RemoteItems> remote;
    std::shared_ptr<xtls::TrustStore> trust;
};

class Adapter {
public:
    virtual ~Adapter() = default;
    // Starts finding devices (they appear on the host as they are found).
    virtual void start() = 0;
    // Stops finding devices and removes its devices from the host. The
    // adapter may be destroyed afterwards.
    virtual void stop() = 0;
};

// One kind of adapter: its [section] (read before anything starts, errors
// with file:line) and the factory of its adapter.
class AdapterKind : public config::Section {
public:
    // Called once, after the whole configuration has been read.
    virtual std::unique_ptr<Adapter> create(const AdapterContext& context) = 0;
};

}  // namespace xpmn::bridge
