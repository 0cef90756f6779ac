// The controller's end-to-end streams (wire profile §3, §4.1): this
// installation's certificate and trust store in its state directory, one
// Jingle endpoint on the c2s session, and one XTLS stream per device,
// opened on first use and reused for every request of the invocation.
// `pair` is the SRP stream to BARE/bridge with the PIN and the pubkey
// exchange that makes both sides trust each other.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/client/peer_channel.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xtls/device_identity.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::jingle {
class JingleManager;
}

namespace xpmn::tools {

using ChannelPtr = std::shared_ptr<client::PeerChannel>;
using ChannelCallback = std::function<void(Result<ChannelPtr>)>;

class SecureLinks {
public:
    // Loads (or on first use makes) the identity and trust store in
    // `state_dir`; throws with a clear message when they cannot be read.
    SecureLinks(boost::asio::io_context& io, std::shared_ptr<client::C2sSession> session,
                const std::string& state_dir, const Jid& account, std::string name);
    ~SecureLinks();

    // The open stream to `device` (full JID), opened now if needed. Errors:
    // not-authorized when this controller has not paired with the device's
    // account; security-error when the device refuses (not trusted there,
    // or its certificate is not the paired one).
    void channel(const Jid& device, ChannelCallback done);
    // Pairs with `bridge` (BARE/bridge) using the PIN it showed; on success
    // the bridge's certificate is stored and returned. With a non-empty
    // `expected_fingerprint` (lowercase hex) a certificate with another
    // fingerprint fails the pairing (security-error): nothing is stored and
    // the bridge is not given ours.
    void pair(const Jid& bridge, const std::string& pin, const std::string& expected_fingerprint,
              std::function<void(Result<xtls::TrustEntry>)> done);
    // Ends every stream (cleanly: </stream:stream>, then session-terminate).
    void close_all();

    const xtls::TrustStore& trust() const { return trust_; }
    const std::string& fingerprint() const { return identity_.fingerprint; }

private:
    jingle::JingleManager& jingle();

    boost::asio::io_context& io_;
    std::shared_ptr<client::C2sSession> session_;
    Jid account_;
    std::string name_;
    xtls::DeviceIdentity identity_;
    xtls::TrustStore trust_;
    std::unique_ptr<jingle::JingleManager> jingle_;
    std::map<Jid, ChannelPtr> open_;
    std::vector<ChannelPtr> pairing_;  // kept until the end: their close flushes
    std::map<Jid, std::vector<ChannelCallback>> opening_;
};

}  // namespace xpmn::tools
