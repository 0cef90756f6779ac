// The TOML configuration shared by `xpmn-bridge` and `xpmn`. Loading checks
// every key: unknown keys, wrong types and bad values are reported with
// file:line, all at once, before anything connects. The common sections are
// here; adapters bring their own (config::Section).
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/core/jid.hpp"

namespace xpmn::config {

class Section;  // config/section.hpp

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct XmppSection {
    Jid jid;                   // the account (a resource, if given, is used by `xpmn` only)
    std::string password;      // from `password` or `password_file`; never logged
    std::string server;        // host to connect to; empty: the JID's domain
    std::uint16_t port = 5222;
    std::string ca_file;
    std::string tls_fingerprint;
    std::string client_cert;
    std::string client_key;
    int ping_interval = 60;    // seconds; 0 disables liveness pings
    int iq_timeout = 10;       // seconds
    std::vector<std::string> sasl_mechanisms;  // allowed mechanisms; empty: all we support
};

struct BridgeSection {
    std::string state_dir;     // default: $XPMN_STATE_DIR, else ~/.local/state/xpmn-bridge (/var/lib/xpmn-bridge as root)
    std::string log_level = "info";
    std::string name = "xpmn-bridge";  // the /bridge device's disco identity name (wire profile §2)
};

struct SecuritySection {
    bool require_e2e = true;  // false: same-account peers may use profiles over c2s (tests)
    // How long a pairing PIN is valid (wire profile §4.1: 5 minutes; may only be shortened).
    std::chrono::seconds pairing_validity{300};
};

// Media transfer (wire profile §6.2): where S5B direct candidates listen,
// whether the server's SOCKS5 proxies are offered, and whether the bridge
// asks the home router (UPnP-IGD) for a port mapping per session for
// `assisted` candidates.
struct TransferSection {
    std::vector<std::string> interfaces;  // empty: every interface that is up, except loopback
    bool proxies = true;                  // offer the XMPP server's XEP-0065 proxies
    bool port_mapping = false;            // the bridge only; `xpmn` ignores it
    // One S5B candidate connection (TCP + SOCKS5) that has not succeeded by
    // then counts as failed; when all have, IBB takes over (wire profile §6.2).
    std::chrono::seconds candidate_timeout{5};
};

// Players (wire profile §7.1): whether `open` may hand a player plain
// http(s) URLs. Off by default: a friend could otherwise make a player on
// the LAN fetch any LAN address (request forgery).
struct PlayersSection {
    bool allow_http = false;
};

struct Config {
    std::string path;
    XmppSection xmpp;
    BridgeSection bridge;
    SecuritySection security;
    TransferSection transfer;
    PlayersSection players;
};

// What to do with a table no section reads.
enum class OtherTables {
    Refuse,  // an error (the daemon: it knows every section)
    Ignore,  // skipped unread (`xpmn`: the adapters' sections are the daemon's business)
};

// Reads [xmpp], [bridge], [security] and each of `sections`; throws
// ConfigError listing every problem with file:line.
Config load(const std::string& path, const std::vector<Section*>& sections = {},
            OtherTables other_tables = OtherTables::Refuse);

// Session settings for one resource of the configured account.
client::SessionConfig session_config(const Config& config, const std::string& resource);

}  // namespace xpmn::config
