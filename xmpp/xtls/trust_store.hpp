// The certificates this installation trusts (wire profile §4.1), kept in
// `state_dir/trust.toml`: SHA-256 fingerprint → the bare JID it belongs to,
// its role, a device name and when it was paired. The bridge stores its
// controllers (owner: the home account; friend: another account); a
// controller (`xpmn`) stores the bridges it paired with (role device).
// A certificate is trusted only together with its JID: a known key used by
// another account is not trusted (trusts()). Every change is saved
// atomically before it counts; a file that cannot be read is an error with
// file:line, never an empty store.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/state_file.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"

namespace xpmn::xtls {

enum class TrustRole {
    Owner,   // a controller of the home account: everything
    Friend,  // a controller of another account: what grants allow
    Device,  // (controller side) a bridge this controller paired with
};
std::string_view role_name(TrustRole role);  // "owner" / "friend" / "device"
std::optional<TrustRole> parse_role(std::string_view name);

struct TrustEntry {
    std::string fingerprint;  // SHA-256 of the certificate's DER, lowercase hex
    Jid jid;                  // bare
    TrustRole role = TrustRole::Friend;
    std::string name;         // the device name the peer gave (may be empty)
    std::chrono::system_clock::time_point paired_at;
};

using TrustStoreError = common::StateFileError;

class TrustStore {
public:
    static constexpr std::size_t kMaxEntries = 1000;
    static constexpr std::size_t kMaxNameBytes = 256;

    // An empty store saved at `path` (nothing read).
    explicit TrustStore(std::string path);
    // Reads `path` (missing: empty). Throws TrustStoreError listing every
    // problem with file:line.
    static TrustStore load(const std::string& path);

    const std::string& path() const { return path_; }
    const std::vector<TrustEntry>& entries() const { return entries_; }
    const TrustEntry* find(std::string_view fingerprint) const;
    // The certificate is known and belongs to this bare JID (a full JID's
    // resource is ignored).
    bool trusts(std::string_view fingerprint, const Jid& jid) const;
    std::vector<TrustEntry> of(const Jid& jid) const;

    // Adds or replaces the entry for its fingerprint and saves. The
    // fingerprint is normalised; the JID made bare. On failure (bad entry,
    // full, the file cannot be written) nothing changes.
    Result<void> add(TrustEntry entry);
    // Removes every fingerprint of this bare JID and saves; how many went.
    Result<std::size_t> forget(const Jid& jid);
    // Removes the one certificate `fingerprint` of this bare JID (one of the
    // account's controllers) and saves; how many went (0 or 1).
    Result<std::size_t> forget(const Jid& jid, std::string_view fingerprint);

private:
    // The JID's entries with this fingerprint (every one when it is empty).
    Result<std::size_t> forget_if(const Jid& jid, const std::string& fingerprint);
    Result<void> save_or_restore(std::vector<TrustEntry> previous);

    std::string path_;
    std::vector<TrustEntry> entries_;
};

// Lowercase 64-digit hex, ':' separators allowed; nullopt otherwise.
std::optional<std::string> parse_fingerprint(std::string_view text);

}  // namespace xpmn::xtls
