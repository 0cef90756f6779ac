#include "bridge/security/acl_profile.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/utc_time.hpp"

namespace xpmn::security {
namespace {

Result<Jid> jid_attr(const xml::Element& e, const char* name) {
    auto v = e.attr(name);
    if (!v) return Error{"bad-request", "<" + e.name() + "/> needs a " + name + " attribute"};
    auto j = Jid::parse(*v);
    if (!j) return Error{"bad-request", std::string(name) + " '" + *v + "' is not a JID"};
    return *j;
}

Result<Jid> account_attr(const xml::Element& e) {
    auto j = jid_attr(e, "jid");
    if (j && !j->is_bare()) return Error{"bad-request", "jid must be a bare JID (an account), not " + j->str()};
    return j;
}

// One change of a set, checked before any is applied.
struct Change {
    enum Kind { GrantIt, Revoke, Forget } kind;
    Grant grant;  // GrantIt; Revoke uses jid and device; Forget jid
};

Result<Change> parse_change(const xml::Element& e, const Jid& home) {
    if (e.ns() != ns_acl) return Error{"bad-request", "<" + e.name() + "/> is not in " + ns_acl};
    if (e.name() == "grant") {
        auto g = parse_grant(e, home);
        if (!g) return g.error();
        return Change{Change::GrantIt, std::move(*g)};
    }
    if (e.name() == "revoke") {
        auto jid = account_attr(e);
        if (!jid) return jid.error();
        auto device = jid_attr(e, "device");
        if (!device) return device.error();
        Change c{Change::Revoke, {}};
        c.grant.jid = *jid;
        c.grant.device = *device;
        return c;
    }
    if (e.name() == "forget") {
        auto jid = account_attr(e);
        if (!jid) return jid.error();
        Change c{Change::Forget, {}};
        c.grant.jid = *jid;
        return c;
    }
    return Error{"service-unavailable", "<" + e.name() + "/> is not an acl command (grant, revoke, forget)"};
}

void list_grants(const AclContext& ctx, const client::Peer& peer, client::IqResponder r) {
    auto admitted = ctx.access->admit(peer);
    if (!admitted) return r.error(std::move(*admitted.denied));
    std::optional<Jid> only;
    if (admitted.role == bridge::PeerRole::Friend) only = peer.jid.bare();
    xml::Element acl("acl", ns_acl);
    for (const auto& g : ctx.grants->list(only)) acl.add_child(make_grant(g));
    r.result(std::move(acl));
}

void change_grants(const AclContext& ctx, const client::Peer& peer, const xml::Element& iq, client::IqResponder r) {
    if (auto denied = ctx.access->check(peer)) return r.error(std::move(*denied));
    const xml::Element* acl = iq.child("acl", ns_acl);
    auto items = acl->elements();
    if (items.empty()) return r.error("bad-request", "<acl/> needs <grant/>, <revoke/> or <forget/>");
    if (items.size() > kMaxAclItems)
        return r.error("bad-request", "more than " + std::to_string(kMaxAclItems) + " changes in one <acl/>");
    std::vector<Change> changes;
    for (const xml::Element* e : items) {
        auto c = parse_change(*e, ctx.access->home());
        if (!c) return r.error(c.error());
        changes.push_back(std::move(*c));
    }
    std::vector<Grant> grants;
    for (const auto& c : changes)
        if (c.kind == Change::GrantIt) grants.push_back(c.grant);
    // Grants first, all at once (validated together); then removals, each saved.
    if (!grants.empty())
        if (auto done = ctx.grants->grant(grants); !done) return r.error(done.error());
    for (const auto& c : changes) {
        if (c.kind == Change::Revoke) {
            if (auto done = ctx.grants->revoke(c.grant.jid, c.grant.device); !done) return r.error(done.error());
            spdlog::info("acl: {} revoked {} on {}", peer.describe(), c.grant.jid.str(), c.grant.device.str());
        } else if (c.kind == Change::Forget) {
            if (auto done = forget_account(ctx, c.grant.jid); !done) return r.error(done.error());
            spdlog::info("acl: {} forgot {}", peer.describe(), c.grant.jid.str());
        } else {
            spdlog::info("acl: {} granted {} {} on {}", peer.describe(), c.grant.jid.str(),
                         permission_name(c.grant.permission), c.grant.device.str());
        }
    }
    r.result();
}

}  // namespace

Result<Grant> parse_grant(const xml::Element& e, const Jid& home) {
    Grant g;
    auto jid = account_attr(e);
    if (!jid) return jid.error();
    g.jid = *jid;
    auto device = jid_attr(e, "device");
    if (!device) return device.error();
    if (device->bare() != home.bare())
        return Error{"bad-request", "device " + device->str() + " is not a device of " + home.bare().str()};
    g.device = *device;
    auto permission = e.attr("permission");
    if (!permission) return Error{"bad-request", "<grant/> needs a permission attribute (read, events, control)"};
    auto p = parse_permission(*permission);
    if (!p) return Error{"bad-request", "permission '" + *permission + "' is not read, events or control"};
    g.permission = *p;
    if (auto c = e.attr("container")) {
        if (c->empty()) return Error{"bad-request", "container must not be empty (leave it out for the whole server)"};
        g.container = *c;
    }
    if (auto x = e.attr("expires")) {
        auto t = common::parse_rfc3339(*x);
        if (!t) return Error{"bad-request", "expires '" + *x + "' is not an RFC 3339 time (e.g. 2026-12-01T22:00:00Z)"};
        g.expires = *t;
    }
    if (auto valid = validate(g); !valid) return valid.error();
    return g;
}

xml::Element make_grant(const Grant& g) {
    xml::Element e("grant", ns_acl);
    e.set_attr("jid", g.jid.str());
    e.set_attr("device", g.device.str());
    e.set_attr("permission", permission_name(g.permission));
    if (!g.container.empty()) e.set_attr("container", g.container);
    if (g.expires) e.set_attr("expires", common::format_utc(*g.expires));
    return e;
}

Result<void> forget_account(const AclContext& ctx, const Jid& jid) {
    if (auto done = ctx.grants->forget(jid); !done) return done.error();
    if (auto done = ctx.trust->forget(jid); !done) return done.error();
    if (ctx.on_forget) ctx.on_forget(jid, {});
    return {};
}

Result<void> forget_controller(const AclContext& ctx, const Jid& jid, const std::string& fingerprint) {
    const xtls::TrustEntry* entry = ctx.trust->find(fingerprint);
    if (!entry || entry->jid != jid.bare() || entry->role == xtls::TrustRole::Device)
        return Error{"item-not-found", "no such controller of " + jid.bare().str()};
    const std::string fp = entry->fingerprint;  // normalised, as the streams' peers have it
    // The last controller of the account: its grants first (as forget_account
    // does), so that a failed save leaves the controller listed, to forget again.
    bool last = std::none_of(ctx.trust->entries().begin(), ctx.trust->entries().end(), [&](const xtls::TrustEntry& e) {
        return e.jid == jid.bare() && e.role != xtls::TrustRole::Device && e.fingerprint != fp;
    });
    if (last)
        if (auto done = ctx.grants->forget(jid); !done) return done.error();
    if (auto n = ctx.trust->forget(jid, fp); !n) return n.error();
    if (ctx.on_forget) ctx.on_forget(jid, fp);
    return {};
}

void install_acl_profile(bridge::Device& bridge_device, AclContext context) {
    auto ctx = std::make_shared<const AclContext>(std::move(context));
    bridge_device.add_feature(ns_acl);
    bridge_device.handle("get", ns_acl, "acl",
                         [ctx](const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element&,
                               client::IqResponder r) { list_grants(*ctx, peer, std::move(r)); });
    bridge_device.handle("set", ns_acl, "acl",
                         [ctx](const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element& iq,
                               client::IqResponder r) { change_grants(*ctx, peer, iq, std::move(r)); });
}

}  // namespace xpmn::security
