#include "bridge/device.hpp"

#include <algorithm>

#include "xmpp/core/namespaces.hpp"

namespace xpmn::bridge {

Device::Device(std::string resource, disco::Identity identity)
    : resource_(std::move(resource)), identity_(std::move(identity)) {}

void Device::add_feature(std::string feature) {
    if (std::find(features_.begin(), features_.end(), feature) == features_.end())
        features_.push_back(std::move(feature));
}

void Device::handle(std::string type, std::string ns, std::string name, client::IqHandler handler) {
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

}  // namespace xpmn::bridge
