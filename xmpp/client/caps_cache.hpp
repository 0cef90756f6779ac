// XEP-0115 entity capabilities of other entities: what their presence's
// <c hash node ver/> stands for, learnt by one disco#info `node#ver` query
// per ver and kept only when the answer hashes to that ver (§5.4: a peer
// cannot poison the cache for others). Bounded: at most kMaxEntries vers
// (oldest forgotten first), kMaxPending queries in flight and kMaxWaiters
// per query. Only hash='sha-1' is understood. One cache serves every device
// of the bridge.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::client {

struct Caps {
    std::string node, ver;
    friend bool operator==(const Caps&, const Caps&) = default;
};

// The <c xmlns='http://jabber.org/protocol/caps'/> of a presence; nullopt
// without one, without node or ver, or with a hash other than sha-1.
std::optional<Caps> read_caps(const xml::Element& presence);

class CapsCache : public std::enable_shared_from_this<CapsCache> {
public:
    static constexpr std::size_t kMaxEntries = 256;
    static constexpr std::size_t kMaxPending = 32;
    static constexpr std::size_t kMaxWaiters = 64;
    using Features = std::vector<std::string>;
    // nullopt: unknown (the query failed, the answer did not match ver, or a bound was reached).
    using Done = std::function<void(std::optional<Features>)>;

    explicit CapsCache(std::size_t max_entries = kMaxEntries) : max_entries_(max_entries ? max_entries : 1) {}

    // The features of `caps`: at once (inside the call) when cached;
    // otherwise, once, after a disco#info to `jid` sent through `router`
    // (or the query for that ver already under way).
    void features(const Caps& caps, const std::string& jid, StanzaRouter& router, Done done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
    const Features* cached(const std::string& ver) const;
    std::size_t size() const { return entries_.size(); }
    std::size_t pending() const { return pending_.size(); }

private:
    void answered(const std::string& ver, const IqResponse& response);
    void remember(const std::string& ver, Features features);

    std::size_t max_entries_;
    std::list<std::pair<std::string, Features>> entries_;  // oldest first
    std::map<std::string, std::vector<Done>> pending_;     // ver → who waits for it
};

}  // namespace xpmn::client
