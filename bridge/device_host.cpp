#include "bridge/device_host.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "xmpp/client/disco_service.hpp"

namespace xpmn::bridge {

DeviceHost::DeviceHost(boost::asio::io_context& io, config::Config config) : io_(io), config_(std::move(config)) {}

DeviceHost::~DeviceHost() {
    for (auto& [r, e] : entries_) {
        e.channel->close();
        e.session->stop();
    }
}

void DeviceHost::add(std::shared_ptr<Device> device) {
    const std::string& resource = device->resource();
    if (entries_.count(resource)) throw std::invalid_argument("device resource '" + resource + "' is already in use");
    if (setup_) setup_(device);
    auto sc = config::session_config(config_, resource);
    sc.request_roster = device->wants_roster();
    // One client TLS context for all devices: they differ only in the resource.
    if (!client_tls_) client_tls_ = tls::make_client_context(sc.tls);
    sc.tls_context = client_tls_;
    auto session = client::C2sSession::create(io_, sc);
    session->set_initial_presence(client::caps_presence(device->info()));
    auto failed = [self = std::weak_ptr<DeviceHost*>(self_), resource](const std::string& reason) {
        if (auto host = self.lock()) (*host)->session_failed(resource, reason);
    };
    session->set_events({[self = std::weak_ptr<DeviceHost*>(self_), resource](bool resumed) {
                             if (auto host = self.lock()) (*host)->session_online(resource, resumed);
                         },
                         failed, failed});
    spdlog::info("device {} ({}/{} '{}') starting", resource, device->identity().category, device->identity().type,
                 device->identity().name);
    Entry& entry = entries_[resource] = {std::move(device), session, nullptr, false};
    open_channel(entry);
    session->start();
}

void DeviceHost::open_channel(Entry& entry) {
    entry.channel = client::C2sChannel::create(entry.session);
    entry.channel_was_online = false;
    entry.device->add_channel(entry.channel);
}

void DeviceHost::session_online(const std::string& resource, bool resumed) {
    auto it = entries_.find(resource);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    if (!resumed && entry.channel_was_online) {
        spdlog::info("device {}: new XMPP session; what peers had set up on the last one has ended", resource);
        auto old = std::exchange(entry.channel, nullptr);
        open_channel(entry);
        old->close();
    }
    entry.channel_was_online = true;
    entry.device->went_online(entry.channel);
}

void DeviceHost::session_failed(const std::string& resource, const std::string& reason) {
    if (reason == "stopped") return;  // our own stop, not a failure
    last_error_ = resource + ": " + reason;
    last_error_at_ = std::chrono::system_clock::now();
}

DeviceHost::Status DeviceHost::status() const {
    Status s;
    s.devices = entries_.size();
    for (const auto& [resource, entry] : entries_)
        if (entry.session->online()) s.online.push_back(resource);
    s.last_error = last_error_;
    s.last_error_at = last_error_at_;
    return s;
}

void DeviceHost::remove(const std::string& resource, std::function<void()> done) {
    auto it = entries_.find(resource);
    if (it == entries_.end()) {
        if (done) done();
        return;
    }
    auto session = it->second.session;
    it->second.channel->close();
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
    for (auto& [r, e] : entries) e.channel->close();
    for (auto& [r, e] : entries)
        e.session->stop([s = e.session, remaining, shared_done] {
            if (--*remaining == 0 && *shared_done) (*shared_done)();
        });
}

std::shared_ptr<client::PeerChannel> DeviceHost::channel(const std::string& resource) {
    auto it = entries_.find(resource);
    return it == entries_.end() ? nullptr : it->second.channel;
}

std::vector<DeviceHost::DeviceState> DeviceHost::states() const {
    std::vector<DeviceState> out;
    for (const auto& [resource, e] : entries_) out.push_back({resource, e.device->identity(), e.session->online()});
    return out;
}

client::C2sSession* DeviceHost::session(const std::string& resource) {
    auto it = entries_.find(resource);
    return it == entries_.end() ? nullptr : it->second.session.get();
}

}  // namespace xpmn::bridge
