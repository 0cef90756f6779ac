#include "bridge/device.hpp"

#include <algorithm>

#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::bridge {

Device::Device(std::string resource, disco::Identity identity)
    : resource_(std::move(resource)), identity_(std::move(identity)) {}

void Device::add_feature(std::string feature) {
    if (std::find(features_.begin(), features_.end(), feature) == features_.end())
        features_.push_back(std::move(feature));
}

void Device::handle(std::string type, std::string ns, std::string name, ProfileHandler handler) {
    handlers_.push_back({std::move(type), std::move(ns), std::move(name), std::move(handler)});
}

disco::Info Device::info() const {
    disco::Info info;
    info.identities.push_back(identity_);
    // Only what is implemented is announced (docs/protocol.md, "Staged features").
    info.features = {ns::disco_info, ns::ping};
    for (const auto& f : features_)
        if (std::find(info.features.begin(), info.features.end(), f) == info.features.end())
            info.features.push_back(f);
    return info;
}

void Device::went_online(const ChannelPtr& channel) {
    for (const auto& hook : online_hooks_) hook(channel);
}

void Device::add_channel(const ChannelPtr& channel) {
    auto& router = channel->router();
    client::serve_disco(router, std::make_shared<const disco::Info>(info()));
    std::weak_ptr<client::PeerChannel> weak = channel;
    for (const auto& h : handlers_)
        router.on_iq(h.type, h.ns, h.name,
                     [handler = h.handler, weak](const client::Peer& peer, const xml::Element& iq,
                                                 client::IqResponder r) {
                         auto ch = weak.lock();
                         if (!ch || ch->closed())
                             return r.error("service-unavailable", "this channel to the device has ended");
                         handler(ch, peer, iq, std::move(r));
                     });
    for (const auto& hook : channel_hooks_) hook(channel);
    std::erase_if(channels_, [](const auto& w) {
        auto c = w.lock();
        return !c || c->closed();
    });
    channels_.push_back(weak);
}

std::size_t Device::channel_count() const {
    return std::count_if(channels_.begin(), channels_.end(), [](const auto& w) {
        auto c = w.lock();
        return c && !c->closed();
    });
}

}  // namespace xpmn::bridge
