#include "xmpp/client/caps_cache.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "xmpp/core/disco_info.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::client {

std::optional<Caps> read_caps(const xml::Element& presence) {
    const auto* c = presence.child("c", ns::caps);
    if (!c || c->attr_or("hash") != "sha-1") return std::nullopt;
    Caps caps{c->attr_or("node"), c->attr_or("ver")};
    if (caps.node.empty() || caps.ver.empty()) return std::nullopt;
    return caps;
}

const CapsCache::Features* CapsCache::cached(const std::string& ver) const {
    for (const auto& [v, features] : entries_)
        if (v == ver) return &features;
    return nullptr;
}

void CapsCache::features(const Caps& caps, const std::string& jid, StanzaRouter& router, Done done,
                         std::chrono::milliseconds timeout) {
    if (const Features* known = cached(caps.ver)) return done(*known);
    if (auto it = pending_.find(caps.ver); it != pending_.end()) {
        if (it->second.size() >= kMaxWaiters) return done(std::nullopt);
        it->second.push_back(std::move(done));
        return;
    }
    if (pending_.size() >= kMaxPending) return done(std::nullopt);
    pending_[caps.ver].push_back(std::move(done));
    auto iq = stanza::iq("get", jid);
    iq.add("query", ns::disco_info).set_attr("node", caps.node + "#" + caps.ver);
    router.send_iq(std::move(iq), timeout, [weak = weak_from_this(), ver = caps.ver](const IqResponse& r) {
        if (auto self = weak.lock()) self->answered(ver, r);
    });
}

void CapsCache::answered(const std::string& ver, const IqResponse& response) {
    auto it = pending_.find(ver);
    if (it == pending_.end()) return;
    auto waiters = std::move(it->second);
    pending_.erase(it);
    std::optional<Features> features;
    const auto* q = response.ok() ? response.stanza.child("query", ns::disco_info) : nullptr;
    try {
        if (q) {
            disco::Info info = disco::from_element(*q);
            if (disco::caps_ver(info) == ver) features = info.features;
            else spdlog::info("caps: the disco#info of ver {} does not hash to it; not kept", ver);
        }
    } catch (const std::invalid_argument& e) {
        spdlog::info("caps: an ill-formed disco#info for ver {}: {}", ver, e.what());
    }
    if (features) remember(ver, *features);
    for (auto& w : waiters) w(features);
}

void CapsCache::remember(const std::string& ver, Features features) {
    if (cached(ver)) return;
    entries_.emplace_back(ver, std::move(features));
    while (entries_.size() > max_entries_) entries_.pop_front();
}

}  // namespace xpmn::client
