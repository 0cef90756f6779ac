// The out-of-band side of one device's c2s channel (wire profile §6.2): it
// answers OOB session-initiates from controllers whose certificate the trust
// store knows for their account (x509 only), over S5B — direct candidates on
// the [transfer] interfaces' addresses, assisted ones through the home
// router's port mapping ([transfer] port_mapping) and the server's SOCKS5 proxies — or
// IBB after a transport-replace (the device's end-to-end streams answer
// S5B the same way: s5b_answer()). Each secured stream gets an OobMux, which
// is registered in the device's OobLinks for the profiles to send on, and
// removed again when the session ends.
#pragma once

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge/device.hpp"
#include "config/config.hpp"
#include "xmpp/jingle/oob_session.hpp"
#include "xmpp/jingle/s5b_transport.hpp"
#include "xmpp/oob/oob_mux.hpp"
#include "xmpp/tls/tls_context.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::jingle {
class S5bProxies;
}

namespace xpmn::bridge {

class OobEndpoint {
public:
    struct Context {
        jingle::JingleManager& jingle;
        std::weak_ptr<Device> device;
        tls::Identity identity;
        std::string fingerprint;
        std::shared_ptr<const xtls::TrustStore> trust;
        config::TransferSection transfer;
        std::string server_domain;  // where the SOCKS5 proxies are looked for
        jingle::MapPort map_port;   // the home router's port mapper; used with [transfer] port_mapping
    };
    explicit OobEndpoint(Context context);
    ~OobEndpoint();
    OobEndpoint(const OobEndpoint&) = delete;
    OobEndpoint& operator=(const OobEndpoint&) = delete;

    std::size_t session_count() const { return active_.size(); }
    // Asks the server for its SOCKS5 proxies (once; the c2s session must be
    // online). A session that comes before the answer offers none of them.
    void discover_proxies();
    // How this device answers S5B offers ([transfer]: its direct, assisted
    // and proxy candidates): for its OOB sessions, and its end-to-end streams.
    jingle::AnswerTransport s5b_answer();

private:
    struct Active {
        std::shared_ptr<oob::OobMux> mux;
        std::shared_ptr<jingle::OobSession> session;
        OobLinks::Token token = 0;
    };
    void link_up(const client::Peer& peer, jingle::OobLink link);
    void link_down(std::uint64_t serial);
    jingle::S5bOptions s5b_options() const;

    Context context_;
    std::unique_ptr<jingle::OobResponder> responder_;
    std::shared_ptr<jingle::S5bProxies> proxies_;
    std::vector<jingle::S5bStreamhost> found_proxies_;
    bool proxies_asked_ = false;
    std::vector<std::string> addresses_;
    std::map<std::uint64_t, Active> active_;  // by serial
    std::uint64_t next_serial_ = 1;
    std::shared_ptr<OobEndpoint*> alive_ = std::make_shared<OobEndpoint*>(this);
};

// The abort IQ of §6.2 on `device`: the peer's id stops being sent.
void install_oob_abort(Device& device);

}  // namespace xpmn::bridge
