// A device of the media network: one resource of the home account with its
// disco identity, features and profile IQ handlers. Adapters (UPnP, MPRIS…)
// create Devices and describe them; the device is then installed on every
// channel it has (add_channel): its c2s session today, each end-to-end
// stream to a controller next. Handlers get the channel a request came on
// and the Peer that channel proved; they never read the stanza's `from`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bridge/oob_links.hpp"
#include "xmpp/client/peer_channel.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/disco_info.hpp"

namespace xpmn::bridge {

using ChannelPtr = std::shared_ptr<client::PeerChannel>;

class Device {
public:
    // Answers through `responder`; events for this peer go out on `channel`.
    using ProfileHandler = std::function<void(const ChannelPtr& channel, const client::Peer& peer,
                                              const xml::Element& iq, client::IqResponder responder)>;
    struct Handler {
        std::string type, ns, name;
        ProfileHandler handler;
    };
    // Profiles that push events or keep per-peer state learn each channel.
    using ChannelHook = std::function<void(const ChannelPtr& channel)>;

    Device(std::string resource, disco::Identity identity);

    const std::string& resource() const { return resource_; }
    const disco::Identity& identity() const { return identity_; }
    void add_feature(std::string feature);
    void handle(std::string type, std::string ns, std::string name, ProfileHandler handler);
    void on_channel(ChannelHook hook) { channel_hooks_.push_back(std::move(hook)); }
    // Runs when the XMPP session under a c2s channel is online (first login,
    // and each new session): the moment requests to the server can go out.
    void on_online(ChannelHook hook) { online_hooks_.push_back(std::move(hook)); }
    void went_online(const ChannelPtr& channel);
    // The device's session fetches the roster after login (the bridge device: friends, later).
    void set_wants_roster(bool on) { wants_roster_ = on; }
    bool wants_roster() const { return wants_roster_; }
    // The device's out-of-band sessions (transfers, large results), by peer.
    const std::shared_ptr<OobLinks>& oob_links() const { return oob_links_; }

    // identity + the features every device has + this device's features
    disco::Info info() const;
    const std::vector<Handler>& handlers() const { return handlers_; }

    // Installs disco, the handlers and the channel hooks on `channel`; they
    // stay until the channel closes. Describe the device (features,
    // handlers, hooks) before adding channels.
    void add_channel(const ChannelPtr& channel);
    // The channels added and not yet closed.
    std::size_t channel_count() const;

private:
    std::string resource_;
    disco::Identity identity_;
    std::vector<std::string> features_;
    std::vector<Handler> handlers_;
    bool wants_roster_ = false;
    std::shared_ptr<OobLinks> oob_links_ = std::make_shared<OobLinks>();
    std::vector<ChannelHook> channel_hooks_;
    std::vector<ChannelHook> online_hooks_;
    std::vector<std::weak_ptr<client::PeerChannel>> channels_;
};

}  // namespace xpmn::bridge
