#include "bridge/device_host.hpp"

#include <spdlog/spdlog.h>

#include "xmpp/client/disco_service.hpp"

namespace xpmn::bridge {

DeviceHost::DeviceHost(boost::asio::io_context& io, config::Config config) : io_(io), config_(std::move(config)) {}

DeviceHost::~DeviceHost() {
    for (auto& [r, e] : entries_) e.session->stop();
}

void DeviceHost::add(std::shared_ptr<Device> device) {
    const std::string& resource = device->resource();
    if (entries_.count(resource)) throw std::invalid_argument("device resource '" + resource + "' is already in use");
    auto sc = config::session_config(config_, resource);
    sc.request_roster = device->wants_roster();
    // One client TLS context for all devices: they differ only in the resource.
    if (!client_tls_) client_tls_ = tls::make_client_context(sc.tls);
    sc.tls_context = client_tls_;
    auto session = client::C2sSession::create(io_, sc);
    auto info = std::make_shared<const disco::Info>(device->info());
    client::serve_disco(*session, info);
    for (const auto& h : device->handlers()) session->router().on_iq(h.type, h.ns, h.name, h.handler);
    for (const auto& hook : device->session_hooks()) hook(session);
    session->set_initial_presence(client::caps_presence(*info));
    spdlog::info("device {} ({}/{} '{}') starting", resource, device->identity().category, device->identity().type,
                 device->identity().name);
    entries_[resource] = {std::move(device), session};
    session->start();
}

void DeviceHost::remove(const std::string& resource, std::function<void()> done) {
    auto it = entries_.find(resource);
    if (it == entries_.end()) {
        if (done) done();
        return;
    }
    auto session = it->second.session;
    entries_.erase(it);
    spdlog::info("device {} removed", resource);
    session->stop([session, done = std::move(done)] {
        if (done) done();
    });
}

void DeviceHost::stop_all(std::function<void()> done) {
    auto remaining = std::make_shared<std::size_t>(entries_.size());
    if (*remaining == 0) {
        if (done) done();
        return;
    }
    auto entries = std::move(entries_);
    entries_.clear();
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& [r, e] : entries)
        e.session->stop([s = e.session, remaining, shared_done] {
            if (--*remaining == 0 && *shared_done) (*shared_done)();
        });
}

client::C2sSession* DeviceHost::session(const std::string& resource) {
    auto it = entries_.find(resource);
    return it == entries_.end() ? nullptr : it->second.session.get();
}

}  // namespace xpmn::bridge
