// Runs one c2s session per device, all of the same account, on one
// io_context (wire profile §2). Adding a device brings its resource online
// with caps presence and its handlers; removing it sends unavailable presence
// and closes its session.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "bridge/device.hpp"
#include "config/config.hpp"
#include "xmpp/client/c2s_session.hpp"

namespace xpmn::bridge {

class DeviceHost {
public:
    DeviceHost(boost::asio::io_context& io, config::Config config);
    ~DeviceHost();

    // Throws when the resource is taken or the session cannot be set up.
    void add(std::shared_ptr<Device> device);
    void remove(const std::string& resource, std::function<void()> done = {});
    void stop_all(std::function<void()> done = {});

    client::C2sSession* session(const std::string& resource);
    boost::asio::io_context& io() { return io_; }
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::shared_ptr<Device> device;
        std::shared_ptr<client::C2sSession> session;
    };
    boost::asio::io_context& io_;
    config::Config config_;
    std::map<std::string, Entry> entries_;
    tls::SslCtxPtr client_tls_;  // shared by every device's session
};

}  // namespace xpmn::bridge
