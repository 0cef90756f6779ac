#include "xmpp/xtls/trust_store.hpp"

#include <algorithm>
#include <cctype>

#include "common/atomic_file.hpp"
#include "common/state_file.hpp"
#include "common/utc_time.hpp"

namespace xpmn::xtls {
namespace {

constexpr const char* kRecord = "peer";
constexpr const char* kComment =
    "Certificates trusted by this installation (written by xpmn-bridge / xpmn; see docs/security.md).\n"
    "fingerprint: SHA-256 of the certificate; jid: the account it belongs to; role: owner, friend or device.";

}  // namespace

std::string_view role_name(TrustRole role) {
    switch (role) {
        case TrustRole::Owner: return "owner";
        case TrustRole::Friend: return "friend";
        case TrustRole::Device: return "device";
    }
    return "friend";
}

std::optional<TrustRole> parse_role(std::string_view name) {
    for (TrustRole r : {TrustRole::Owner, TrustRole::Friend, TrustRole::Device})
        if (role_name(r) == name) return r;
    return std::nullopt;
}

std::optional<std::string> parse_fingerprint(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    if (hex.size() != 64) return std::nullopt;
    return hex;
}

TrustStore::TrustStore(std::string path) : path_(std::move(path)) {}

TrustStore TrustStore::load(const std::string& path) {
    TrustStore store(path);
    common::read_state_file(path, kRecord, [&](common::StateRecord& r) {
        TrustEntry e;
        auto fp = r.get("fingerprint");
        auto jid = r.get("jid");
        auto role = r.get("role");
        auto name = r.get("name", false);
        auto at = r.get("paired_at");
        if (fp) {
            if (auto n = parse_fingerprint(*fp)) e.fingerprint = *n;
            else r.error("fingerprint", "fingerprint '" + *fp + "' is not 64 hex digits (SHA-256)");
            if (!e.fingerprint.empty() && store.find(e.fingerprint))
                r.error("fingerprint", "fingerprint " + e.fingerprint + " is listed twice");
        }
        if (jid) {
            auto j = Jid::parse(*jid);
            if (j && j->is_bare()) e.jid = *j;
            else r.error("jid", "jid '" + *jid + "' is not a bare JID");
        }
        if (role) {
            if (auto ro = parse_role(*role)) e.role = *ro;
            else r.error("role", "role '" + *role + "' is not owner, friend or device");
        }
        if (name) {
            if (name->size() <= kMaxNameBytes) e.name = *name;
            else r.error("name", "name is longer than " + std::to_string(kMaxNameBytes) + " bytes");
        }
        if (at) {
            if (auto t = common::parse_rfc3339(*at)) e.paired_at = *t;
            else r.error("paired_at", "paired_at '" + *at + "' is not an RFC 3339 time");
        }
        if (r.finish()) store.entries_.push_back(std::move(e));
    });
    if (store.entries_.size() > kMaxEntries)
        throw TrustStoreError(path + ": more than " + std::to_string(kMaxEntries) + " entries");
    return store;
}

const TrustEntry* TrustStore::find(std::string_view fingerprint) const {
    auto fp = parse_fingerprint(fingerprint);
    if (!fp) return nullptr;
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const TrustEntry& e) { return e.fingerprint == *fp; });
    return it == entries_.end() ? nullptr : &*it;
}

bool TrustStore::trusts(std::string_view fingerprint, const Jid& jid) const {
    const TrustEntry* e = find(fingerprint);
    return e && !jid.empty() && e->jid == jid.bare();
}

std::vector<TrustEntry> TrustStore::of(const Jid& jid) const {
    std::vector<TrustEntry> out;
    for (const auto& e : entries_)
        if (e.jid == jid.bare()) out.push_back(e);
    return out;
}

Result<void> TrustStore::add(TrustEntry entry) {
    auto fp = parse_fingerprint(entry.fingerprint);
    if (!fp) return Error{"bad-request", "not a SHA-256 fingerprint: " + entry.fingerprint};
    if (entry.jid.empty()) return Error{"bad-request", "a trusted certificate needs a JID"};
    if (entry.name.size() > kMaxNameBytes)
        return Error{"bad-request", "device name longer than " + std::to_string(kMaxNameBytes) + " bytes"};
    entry.fingerprint = *fp;
    entry.jid = entry.jid.bare();
    auto previous = entries_;
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const TrustEntry& e) { return e.fingerprint == entry.fingerprint; });
    if (it != entries_.end()) {
        *it = std::move(entry);
    } else {
        if (entries_.size() >= kMaxEntries)
            return Error{"resource-constraint", "the trust store is full (" + std::to_string(kMaxEntries) + ")"};
        entries_.push_back(std::move(entry));
    }
    return save_or_restore(std::move(previous));
}

Result<std::size_t> TrustStore::forget(const Jid& jid) { return forget_if(jid, {}); }

Result<std::size_t> TrustStore::forget(const Jid& jid, std::string_view fingerprint) {
    auto fp = parse_fingerprint(fingerprint);
    if (!fp) return std::size_t{0};
    return forget_if(jid, *fp);
}

Result<std::size_t> TrustStore::forget_if(const Jid& jid, const std::string& fingerprint) {
    auto previous = entries_;
    std::size_t n = std::erase_if(entries_, [&](const TrustEntry& e) {
        return e.jid == jid.bare() && (fingerprint.empty() || e.fingerprint == fingerprint);
    });
    if (n == 0) return n;
    if (auto saved = save_or_restore(std::move(previous)); !saved) return saved.error();
    return n;
}

Result<void> TrustStore::save_or_restore(std::vector<TrustEntry> previous) {
    std::vector<common::StateFields> records;
    for (const auto& e : entries_)
        records.push_back({{"fingerprint", e.fingerprint},
                           {"jid", e.jid.str()},
                           {"role", std::string(role_name(e.role))},
                           {"name", e.name},
                           {"paired_at", common::format_utc(e.paired_at)}});
    try {
        common::write_state_file(path_, kComment, kRecord, records);
    } catch (const common::FileError& e) {
        entries_ = std::move(previous);
        return Error{"internal-server-error", std::string("cannot save the trust store: ") + e.what()};
    }
    return {};
}

}  // namespace xpmn::xtls
