#include "bridge/security/grants.hpp"

#include <algorithm>

#include "common/atomic_file.hpp"
#include "common/state_file.hpp"

namespace xpmn::security {
namespace {

constexpr const char* kRecord = "grant";
constexpr const char* kComment =
    "What friends may use (written by xpmn-bridge; change it with `xpmn grant` / `xpmn revoke`).\n"
    "permission: read (media server), events or control (player); expires: RFC 3339, UTC.";

bool is_server(const Jid& device) { return device.resource().starts_with("upnp-"); }
bool is_player(const Jid& device) {
    return device.resource().starts_with("mpris-") || device.resource().starts_with("renderer-");
}

}  // namespace

std::string_view permission_name(Permission p) {
    switch (p) {
        case Permission::Read: return "read";
        case Permission::Events: return "events";
        case Permission::Control: return "control";
    }
    return "read";
}

std::optional<Permission> parse_permission(std::string_view name) {
    for (Permission p : {Permission::Read, Permission::Events, Permission::Control})
        if (permission_name(p) == name) return p;
    return std::nullopt;
}

bool Grant::same_target(const Grant& o) const {
    return jid == o.jid && device == o.device && permission == o.permission && container == o.container;
}

Result<void> validate(const Grant& g) {
    if (g.jid.empty() || !g.jid.is_bare()) return Error{"bad-request", "jid must be a bare JID (an account)"};
    if (g.device.empty() || g.device.is_bare())
        return Error{"bad-request", "device must be a device's full JID (BARE/resource)"};
    if (g.permission == Permission::Read && !is_server(g.device))
        return Error{"bad-request", "read is a media server permission; " + g.device.str() + " is not a media server"};
    if (g.permission != Permission::Read && !is_player(g.device))
        return Error{"bad-request", std::string(permission_name(g.permission)) + " is a player permission; " +
                                       g.device.str() + " is not a player"};
    if (!g.container.empty() && g.permission != Permission::Read)
        return Error{"bad-request", "a container can be given with read only"};
    if (g.container.size() > GrantStore::kMaxContainerBytes)
        return Error{"bad-request",
                     "container longer than " + std::to_string(GrantStore::kMaxContainerBytes) + " bytes"};
    return {};
}

GrantStore::GrantStore(std::string path, SystemClock clock) : path_(std::move(path)), clock_(std::move(clock)) {}

GrantStore GrantStore::load(const std::string& path, SystemClock clock) {
    GrantStore store(path, std::move(clock));
    common::read_state_file(path, kRecord, [&](common::StateRecord& r) {
        Grant g;
        auto parse_jid = [&](const char* key, Jid& out) {
            auto v = r.get(key);
            if (!v) return;
            if (auto j = Jid::parse(*v)) out = *j;
            else r.error(key, std::string(key) + " '" + *v + "' is not a JID");
        };
        parse_jid("jid", g.jid);
        parse_jid("device", g.device);
        if (auto p = r.get("permission")) {
            if (auto parsed = parse_permission(*p)) g.permission = *parsed;
            else r.error("permission", "permission '" + *p + "' is not read, events or control");
        }
        if (auto c = r.get("container", false)) g.container = *c;
        if (auto e = r.get("expires", false)) {
            if (auto t = common::parse_rfc3339(*e)) g.expires = *t;
            else r.error("expires", "expires '" + *e + "' is not an RFC 3339 time");
        }
        if (!r.finish()) return;
        if (auto valid = validate(g); !valid) r.error("device", valid.error().text);
        else store.grants_.push_back(std::move(g));
    });
    if (store.grants_.size() > kMaxGrants)
        throw GrantStoreError(path + ": more than " + std::to_string(kMaxGrants) + " grants");
    return store;
}

Result<void> GrantStore::grant(const std::vector<Grant>& grants) {
    for (const auto& g : grants)
        if (auto valid = validate(g); !valid) return valid;
    auto previous = grants_;
    for (const auto& g : grants) {
        auto it = std::find_if(grants_.begin(), grants_.end(), [&](const Grant& o) { return o.same_target(g); });
        if (it != grants_.end()) *it = g;
        else grants_.push_back(g);
    }
    auto now = clock_();
    std::erase_if(grants_, [&](const Grant& g) { return !live(g, now); });
    if (grants_.size() > kMaxGrants) {
        grants_ = std::move(previous);
        return Error{"resource-constraint", "more than " + std::to_string(kMaxGrants) + " grants"};
    }
    return save_or_restore(std::move(previous));
}

Result<std::size_t> GrantStore::revoke(const Jid& jid, const Jid& device) {
    auto previous = grants_;
    std::size_t n = std::erase_if(grants_, [&](const Grant& g) { return g.jid == jid.bare() && g.device == device; });
    if (n == 0) return n;
    if (auto saved = save_or_restore(std::move(previous)); !saved) return saved.error();
    return n;
}

Result<std::size_t> GrantStore::forget(const Jid& jid) {
    auto previous = grants_;
    std::size_t n = std::erase_if(grants_, [&](const Grant& g) { return g.jid == jid.bare(); });
    if (n == 0) return n;
    if (auto saved = save_or_restore(std::move(previous)); !saved) return saved.error();
    return n;
}

std::vector<Grant> GrantStore::list(const std::optional<Jid>& jid) const {
    auto now = clock_();
    std::vector<Grant> out;
    for (const auto& g : grants_)
        if (live(g, now) && (!jid || g.jid == jid->bare())) out.push_back(g);
    return out;
}

std::vector<Grant> GrantStore::matching(const Jid& jid, const Jid& device, Permission permission) const {
    auto now = clock_();
    std::vector<Grant> out;
    for (const auto& g : grants_) {
        bool gives = g.permission == permission || (permission == Permission::Events && g.permission == Permission::Control);
        if (gives && live(g, now) && g.jid == jid.bare() && g.device == device) out.push_back(g);
    }
    return out;
}

Result<void> GrantStore::save_or_restore(std::vector<Grant> previous) {
    std::vector<common::StateFields> records;
    for (const auto& g : grants_) {
        common::StateFields f{{"jid", g.jid.str()},
                              {"device", g.device.str()},
                              {"permission", std::string(permission_name(g.permission))}};
        if (!g.container.empty()) f.emplace_back("container", g.container);
        if (g.expires) f.emplace_back("expires", common::format_utc(*g.expires));
        records.push_back(std::move(f));
    }
    try {
        common::write_state_file(path_, kComment, kRecord, records);
    } catch (const common::FileError& e) {
        grants_ = std::move(previous);
        return Error{"internal-server-error", std::string("cannot save the grants: ") + e.what()};
    }
    return {};
}

}  // namespace xpmn::security
