#include "daemon/security_setup.hpp"

#include <spdlog/spdlog.h>

#include "bridge/security/acl_profile.hpp"
#include "bridge/security/pubkey_profile.hpp"
#include "common/utc_time.hpp"

namespace xpmn::daemon {

Security load_security(boost::asio::io_context& io, const config::Config& cfg) {
    Security s;
    const Jid home = cfg.xmpp.jid.bare();
    const std::string& dir = cfg.bridge.state_dir;
    s.identity = xtls::load_or_create(dir, home);
    spdlog::info("device certificate {} ({})", s.identity.fingerprint,
                 s.identity.created ? "made now, first start" : "from the state directory");
    s.trust = std::make_shared<xtls::TrustStore>(xtls::TrustStore::load(dir + "/trust.toml"));
    s.grants = std::make_shared<security::GrantStore>(security::GrantStore::load(dir + "/grants.toml"));
    s.pairing = std::make_shared<security::PairingWindow>();
    s.pairing->set_validity(cfg.security.pairing_validity);
    s.pairing->on_burned = [](const std::string& why) { spdlog::info("pairing PIN no longer valid: {}", why); };
    s.access = std::make_shared<const bridge::AccessPolicy>(cfg.security.require_e2e, home.str(), s.trust, s.grants);
    s.streams = std::make_unique<bridge::SecureStreams>(bridge::SecureStreams::Context{
        io, home, s.identity.identity, s.identity.fingerprint, s.trust, s.pairing, cfg.transfer, {}});
    return s;
}

void serve_bridge_device(Security& s, const config::Config& cfg, const std::shared_ptr<bridge::Device>& bridge) {
    s.streams->serve(bridge, true);
    auto* streams = s.streams.get();
    security::PubkeyContext pubkey;
    pubkey.trust = s.trust;
    pubkey.home = cfg.xmpp.jid.bare();
    pubkey.name = cfg.bridge.name;
    pubkey.certificate = [cert = s.identity.identity.cert] { return cert; };
    pubkey.on_paired = [streams](const xtls::TrustEntry& e) {
        spdlog::info("paired with {} as {} ('{}', {})", e.jid.str(), xtls::role_name(e.role), e.name, e.fingerprint);
        if (e.role == xtls::TrustRole::Friend) streams->approve_subscription(e.jid);
    };
    security::install_pubkey_profile(*bridge, std::move(pubkey));
    security::install_acl_profile(*bridge, security::AclContext{s.trust, s.grants, s.access, [streams](const Jid& jid, const std::string& fingerprint) {
                                                                    streams->close_streams_of(jid, fingerprint);
                                                                }});
}

Result<std::string> open_pairing(security::PairingWindow& window, const config::Config& cfg,
                                 const std::string& fingerprint) {
    auto opened = window.open();
    auto left = std::chrono::round<std::chrono::seconds>(opened.expires - std::chrono::steady_clock::now());
    spdlog::info("pairing window open for {} s", left.count());
    return "pin=" + opened.pin + " expires=" + common::format_utc(std::chrono::system_clock::now() + left) +
           " seconds=" + std::to_string(left.count()) + " fp=" + fingerprint + " jid=" + cfg.xmpp.jid.bare().str() +
           "/bridge";
}

}  // namespace xpmn::daemon
