// End-to-end streams to the bridge's devices (wire profile §3, §4.1): on
// every device's c2s channel a Jingle endpoint answers session-initiates of
// the xmlstream application. Its policy offers `x509` when the trust store
// knows the initiator's announced certificate for the initiator's bare JID,
// and `srp` on /bridge while a pairing PIN is active. Each stream that comes
// up becomes one more channel of its device (Device::add_channel), so every
// profile runs over it unchanged, with the TLS-proven peer.
//
// Every device other than /bridge also answers out-of-band sessions
// (OobEndpoint) for transfers and large results.
//
// It also answers presence subscriptions: approved for paired friends only
// (§2), and pre-approved when a friend has just paired.
#pragma once

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <vector>

#include "bridge/device.hpp"
#include "config/config.hpp"
#include "bridge/security/pairing_window.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/jingle/port_mapping.hpp"
#include "xmpp/tls/tls_context.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::jingle {
class JingleManager;
class XmlStreamResponder;
}  // namespace xpmn::jingle

namespace xpmn::bridge {

class SecureStreams {
public:
    struct Context {
        boost::asio::io_context& io;
        Jid home;                                      // the home account (bare)
        tls::Identity identity;                        // the bridge's device certificate
        std::string fingerprint;                       // its SHA-256
        std::shared_ptr<const xtls::TrustStore> trust;
        std::shared_ptr<security::PairingWindow> pairing;  // offered on the pairing device only
        config::TransferSection transfer;                  // out-of-band sessions (§6.2)
        jingle::MapPort map_port;  // [transfer] port_mapping: the home router's (assisted candidates)
    };
    explicit SecureStreams(Context context);
    ~SecureStreams();
    SecureStreams(const SecureStreams&) = delete;
    SecureStreams& operator=(const SecureStreams&) = delete;

    // Accept end-to-end streams on each c2s channel `device` gets. Call
    // before the device gets its first channel. `pairing`: this device
    // (/bridge) offers srp while the pairing window is open, and answers
    // presence subscriptions for the account.
    void serve(const std::shared_ptr<Device>& device, bool pairing);
    // Ends every end-to-end stream of this account (after `forget`), or only
    // those authenticated with the certificate `fingerprint` when given.
    void close_streams_of(const Jid& bare, const std::string& fingerprint = {});
    // A friend was paired: pre-approve its presence subscription (RFC 6121 §3.4).
    void approve_subscription(const Jid& bare);
    std::size_t stream_count() const;
    // The port mapper for the OOB sessions of channels attached from now on.
    void set_map_port(jingle::MapPort map_port) { context_.map_port = std::move(map_port); }

private:
    struct Endpoint;  // the Jingle side of one c2s channel
    void attach_c2s(const std::shared_ptr<Device>& device, const ChannelPtr& channel, bool pairing);
    void answer_subscriptions(const ChannelPtr& channel);
    void stream_up(const std::weak_ptr<Device>& device, const ChannelPtr& stream);

    Context context_;
    std::map<const client::PeerChannel*, std::unique_ptr<Endpoint>> endpoints_;
    struct Stream {
        std::string device;  // resource
        std::weak_ptr<client::PeerChannel> channel;
    };
    std::vector<Stream> streams_;
    std::weak_ptr<client::PeerChannel> subscription_channel_;  // /bridge's c2s channel
    std::shared_ptr<SecureStreams*> alive_ = std::make_shared<SecureStreams*>(this);
};

}  // namespace xpmn::bridge
