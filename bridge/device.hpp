// A device of the media network: one resource of the home account with its
// disco identity, features and profile IQ handlers. Adapters (UPnP, MPRIS…)
// create Devices; the DeviceHost gives each its own c2s session.
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/disco_info.hpp"

namespace xpmn::bridge {

class Device {
public:
    struct Handler {
        std::string type, ns, name;
        client::IqHandler handler;
    };

    Device(std::string resource, disco::Identity identity);

    const std::string& resource() const { return resource_; }
    const disco::Identity& identity() const { return identity_; }
    void add_feature(std::string feature);
    void handle(std::string type, std::string ns, std::string name, client::IqHandler handler);
    // The device's session fetches the roster after login (the bridge device: friends, later).
    void set_wants_roster(bool on) { wants_roster_ = on; }
    bool wants_roster() const { return wants_roster_; }

    // identity + the features every device has + this device's features
    disco::Info info() const;
    const std::vector<Handler>& handlers() const { return handlers_; }

    // Profiles that push (events) or watch presence get the device's session
    // once the host has made it.
    using SessionHook = std::function<void(const std::shared_ptr<client::C2sSession>&)>;
    void on_session(SessionHook hook) { session_hooks_.push_back(std::move(hook)); }
    const std::vector<SessionHook>& session_hooks() const { return session_hooks_; }

private:
    std::string resource_;
    disco::Identity identity_;
    std::vector<std::string> features_;
    std::vector<Handler> handlers_;
    bool wants_roster_ = false;
    std::vector<SessionHook> session_hooks_;
};

}  // namespace xpmn::bridge
