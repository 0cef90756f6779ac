// Runs one c2s session per device, all of the same account, on one
// io_context (wire profile §2). Adding a device brings its resource online
// with caps presence and its handlers; removing it sends unavailable presence
// and closes its session. Each session is the device's c2s channel
// (client::C2sChannel): when it comes back as a new XMPP session rather than
// a resumed one, the old channel closes (what peers had set up on it, such
// as watches, ends: they saw the device go offline) and a new one is added.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge/device.hpp"
#include "config/config.hpp"
#include "xmpp/client/c2s_channel.hpp"
#include "xmpp/client/c2s_session.hpp"

namespace xpmn::bridge {

class DeviceHost {
public:
    DeviceHost(boost::asio::io_context& io, config::Config config);
    ~DeviceHost();

    // Runs for each device added, before it gets its first channel (e.g. to
    // accept end-to-end streams on its channels).
    using DeviceSetup = std::function<void(const std::shared_ptr<Device>&)>;
    void set_device_setup(DeviceSetup setup) { setup_ = std::move(setup); }
    // Throws when the resource is taken or the session cannot be set up.
    void add(std::shared_ptr<Device> device);
    void remove(const std::string& resource, std::function<void()> done = {});
    void stop_all(std::function<void()> done = {});

    client::C2sSession* session(const std::string& resource);
    // The device's current c2s channel (nullptr for an unknown resource).
    std::shared_ptr<client::PeerChannel> channel(const std::string& resource);
    boost::asio::io_context& io() { return io_; }
    std::size_t size() const { return entries_.size(); }

    // What the status page shows of each device: its resource, disco
    // identity and whether its XMPP session is online (available presence).
    struct DeviceState {
        std::string resource;
        disco::Identity identity;
        bool online = false;
    };
    std::vector<DeviceState> states() const;

    // What `xpmn-bridge health` reports: the resources whose session is
    // online (their presence is out) and the last connection error of any
    // device's session, with when it happened ("" when none yet).
    struct Status {
        std::vector<std::string> online;
        std::size_t devices = 0;
        std::string last_error;
        std::chrono::system_clock::time_point last_error_at{};
    };
    Status status() const;

private:
    struct Entry {
        std::shared_ptr<Device> device;
        std::shared_ptr<client::C2sSession> session;
        std::shared_ptr<client::C2sChannel> channel;
        bool channel_was_online = false;
    };
    void open_channel(Entry& entry);
    void session_online(const std::string& resource, bool resumed);
    void session_failed(const std::string& resource, const std::string& reason);

    boost::asio::io_context& io_;
    config::Config config_;
    std::map<std::string, Entry> entries_;
    tls::SslCtxPtr client_tls_;  // shared by every device's session
    DeviceSetup setup_;
    std::string last_error_;
    std::chrono::system_clock::time_point last_error_at_{};
    // Session callbacks hold this weakly: they may outlive the host.
    std::shared_ptr<DeviceHost*> self_ = std::make_shared<DeviceHost*>(this);
};

}  // namespace xpmn::bridge
