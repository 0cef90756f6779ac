// What friends may use (wire profile §4.2, `urn:xmpp:xpmn:acl:0`), kept in
// `state_dir/grants.toml`: a grant gives one account (bare JID) one
// permission on one device resource — `read` on a media server (the whole
// server or one container subtree), `events` or `control` on a player
// (control includes events) — optionally until an expiry time. Expiry is
// judged when a request is decided, with an injected clock; expired grants
// are dropped at the next save. Every change is saved atomically before it
// counts.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/state_file.hpp"
#include "common/utc_time.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"

namespace xpmn::security {

enum class Permission { Read, Events, Control };
std::string_view permission_name(Permission p);  // "read" / "events" / "control"
std::optional<Permission> parse_permission(std::string_view name);

using SystemClock = std::function<common::SystemTime()>;

struct Grant {
    Jid jid;                 // the account granted to (bare)
    Jid device;              // the device resource's full JID
    Permission permission = Permission::Read;
    std::string container;   // read only; empty: the whole server
    std::optional<common::SystemTime> expires;

    // The same grant (replaced by a new one) when these match.
    bool same_target(const Grant& other) const;
};

// A grant is well formed: bare jid, full device JID of a media server
// (upnp-…) for read or of a player (mpris-…, renderer-…) for events/control,
// container only with read and at most kMaxContainerBytes. Error: bad-request.
Result<void> validate(const Grant& grant);

using GrantStoreError = common::StateFileError;

class GrantStore {
public:
    static constexpr std::size_t kMaxGrants = 10000;
    static constexpr std::size_t kMaxContainerBytes = 1024;

    GrantStore(std::string path, SystemClock clock = &std::chrono::system_clock::now);
    // Reads `path` (missing: no grants); throws GrantStoreError with file:line.
    static GrantStore load(const std::string& path, SystemClock clock = &std::chrono::system_clock::now);

    // Adds each grant (replacing one with the same target), all or none.
    Result<void> grant(const std::vector<Grant>& grants);
    // Removes the account's grants on that device; how many.
    Result<std::size_t> revoke(const Jid& jid, const Jid& device);
    // Removes every grant of the account; how many.
    Result<std::size_t> forget(const Jid& jid);

    // Unexpired grants: all (nullopt) or one account's.
    std::vector<Grant> list(const std::optional<Jid>& jid = std::nullopt) const;
    // Unexpired grants that give `jid` `permission` on `device` (control counts for events).
    std::vector<Grant> matching(const Jid& jid, const Jid& device, Permission permission) const;

private:
    bool live(const Grant& g, common::SystemTime now) const { return !g.expires || now < *g.expires; }
    Result<void> save_or_restore(std::vector<Grant> previous);

    std::string path_;
    SystemClock clock_;
    std::vector<Grant> grants_;
};

}  // namespace xpmn::security
