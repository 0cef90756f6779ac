// The controller's end-to-end streams (wire profile §3, §4.1): this
// installation's certificate and trust store in its state directory, one
// Jingle endpoint on the c2s session, and one XTLS stream per device,
// opened on first use and reused for every request of the invocation; it
// runs on S5B when [transfer] gives candidates (IBB when S5B fails or the
// device takes only IBB).
// `pair` is the SRP stream to BARE/bridge with the PIN and the pubkey
// exchange that makes both sides trust each other.
//
// oob() is the out-of-band session with a device (wire profile §6.2): S5B
// (direct candidates on the configured interfaces, the server's proxies)
// with the IBB fallback, TLS x509 with the same trust check as the streams,
// and the chunk multiplexer over it; one per device, opened on first use.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "xmpp/client/c2s_session.hpp"
#include "xmpp/client/peer_channel.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xtls/device_identity.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::jingle {
class JingleManager;
class OobSession;
class S5bProxies;
struct S5bStreamhost;
}  // namespace xpmn::jingle
namespace xpmn::oob {
class OobMux;
}

namespace xpmn::controller {

using ChannelPtr = std::shared_ptr<client::PeerChannel>;
using ChannelCallback = std::function<void(Result<ChannelPtr>)>;

// An open OOB session with one device.
struct OobPeer {
    std::shared_ptr<oob::OobMux> mux;
    std::shared_ptr<jingle::OobSession> session;
    std::string path;  // how its bytes travel: "s5b-direct", "s5b-proxy" or "ibb"
};
using OobPtr = std::shared_ptr<OobPeer>;
using OobCallback = std::function<void(Result<OobPtr>)>;

class SecureLinks {
public:
    // Loads (or on first use makes) the identity and trust store in
    // `state_dir`; throws with a clear message when they cannot be read.
    SecureLinks(boost::asio::io_context& io, std::shared_ptr<client::C2sSession> session,
                const std::string& state_dir, const Jid& account, std::string name);
    // A bridge acting as a controller (bridge/profiles/remote_items): its
    // own device identity, and its trust store, shared with the daemon, in
    // which only entries of role `device` (the bridges it was paired with as
    // a controller) make a peer trusted: its own controllers' and friends'
    // certificates never do.
    SecureLinks(boost::asio::io_context& io, std::shared_ptr<client::C2sSession> session, xtls::DeviceIdentity identity,
                std::shared_ptr<xtls::TrustStore> trust, const Jid& account, std::string name);
    ~SecureLinks();

    // The open stream to `device` (full JID), opened now if needed. Errors:
    // not-authorized when this controller has not paired with the device's
    // account; security-error when the device refuses (not trusted there,
    // or its certificate is not the paired one).
    void channel(const Jid& device, ChannelCallback done);
    // How the open stream to `device` travels: "s5b-direct", "s5b-assisted",
    // "s5b-proxy" or "ibb"; empty when none is open.
    std::string channel_path(const Jid& device) const;
    // The OOB session with `device` (full JID), opened now if needed (same
    // errors as channel(), plus the transport's). `transfer` says where
    // direct candidates listen and whether the server's proxies are offered.
    void oob(const Jid& device, OobCallback done);
    // OobPeer::path of the open OOB session with `device`; empty when none is open.
    std::string oob_path(const Jid& device) const;
    void set_transfer(config::TransferSection transfer) { transfer_ = std::move(transfer); }
    // Tells `device` to stop sending OOB id `id` (wire profile §6.2 abort),
    // on its end-to-end stream; failures are only logged.
    void abort(const Jid& device, const std::string& id);
    // Pairs with `bridge` (BARE/bridge) using the PIN it showed; on success
    // the bridge's certificate is stored and returned. With a non-empty
    // `expected_fingerprint` (lowercase hex) a certificate with another
    // fingerprint fails the pairing (security-error): nothing is stored and
    // the bridge is not given ours.
    void pair(const Jid& bridge, const std::string& pin, const std::string& expected_fingerprint,
              std::function<void(Result<xtls::TrustEntry>)> done);
    // Ends every stream and OOB session (cleanly: </stream:stream>, then
    // session-terminate); `flushed` runs once every Jingle session has ended
    // (their last data and terminates are out), or after `grace`.
    void close_all(std::function<void()> flushed = nullptr,
                   std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

    const xtls::TrustStore& trust() const { return *trust_; }
    const std::string& fingerprint() const { return identity_.fingerprint; }

private:
    jingle::JingleManager& jingle();
    // Whether `bare` has a certificate this controller may talk to, and whether `fp` is one.
    bool knows(const Jid& bare) const;
    bool trusted(const std::string& fp, const Jid& bare) const;

    boost::asio::io_context& io_;
    std::shared_ptr<client::C2sSession> session_;
    Jid account_;
    std::string name_;
    xtls::DeviceIdentity identity_;
    std::shared_ptr<xtls::TrustStore> trust_;
    bool devices_only_ = false;  // only role `device` entries count (the bridge's variant)
    std::unique_ptr<jingle::JingleManager> jingle_;
    std::map<Jid, ChannelPtr> open_;
    std::map<Jid, std::string> open_paths_;  // channel_path()
    std::vector<ChannelPtr> pairing_;  // kept until the end: their close flushes
    std::map<Jid, std::vector<ChannelCallback>> opening_;
    config::TransferSection transfer_;
    std::shared_ptr<jingle::S5bProxies> proxies_;
    std::map<Jid, OobPtr> oob_open_;
    std::map<Jid, std::vector<OobCallback>> oob_opening_;
    std::shared_ptr<boost::asio::steady_timer> flush_timer_;

    // Calls `then` with the server's SOCKS5 proxies (none when [transfer] proxies is off).
    void with_proxies(std::function<void(const std::vector<jingle::S5bStreamhost>&)> then);
    void open_channel(const Jid& device, const std::vector<jingle::S5bStreamhost>& proxies, bool s5b);
    void open_oob(const Jid& device, const std::vector<jingle::S5bStreamhost>& proxies);
    void oob_opened(const Jid& device, Result<OobPtr> r);
};

}  // namespace xpmn::controller
