// The daemon's security part of the composition root (wire profile §3, §4):
// the device identity, trust store, grants and pairing window in state_dir;
// the access policy built from them; end-to-end streams on every device;
// the pubkey and acl profiles on /bridge.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>

#include "bridge/access_policy.hpp"
#include "bridge/device.hpp"
#include "bridge/secure_streams.hpp"
#include "bridge/security/grants.hpp"
#include "bridge/security/pairing_window.hpp"
#include "config/config.hpp"
#include "xmpp/xtls/device_identity.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::daemon {

struct Security {
    xtls::DeviceIdentity identity;
    std::shared_ptr<xtls::TrustStore> trust;
    std::shared_ptr<security::GrantStore> grants;
    std::shared_ptr<security::PairingWindow> pairing;
    std::shared_ptr<const bridge::AccessPolicy> access;
    std::unique_ptr<bridge::SecureStreams> streams;
};

// Loads (or on first start makes) what state_dir holds. Throws with a clear
// message when a state file cannot be read: it is never silently replaced.
Security load_security(boost::asio::io_context& io, const config::Config& cfg);

// Installs pairing and grants on /bridge; call before the device is added.
void serve_bridge_device(Security& security, const config::Config& cfg, const std::shared_ptr<bridge::Device>& bridge);

// Opens the pairing window (the control socket's `pair`, the page's Pair
// button): "pin=… expires=… seconds=… fp=… jid=…" (parse_answer reads it).
Result<std::string> open_pairing(security::PairingWindow& window, const config::Config& cfg,
                                 const std::string& fingerprint);

}  // namespace xpmn::daemon
