// The certificate exchange on BARE/bridge (wire profile §4.1,
// urn:xmpp:pubkey:0). Any end-to-end peer (paired, or pairing over SRP) may
// ask for the bridge's certificate:
//   get <pubkeys/> → <pubkeys><keyinfo><name>NAME</name><x509cert>BASE64-DER</x509cert></keyinfo></pubkeys>
// When a pairing stream (Peer::Proof::Pairing) reaches /bridge, the bridge
// asks the controller the same question and stores the certificate it gets
// in the trust store: the home account's controllers as owners, others as
// friends (no grants yet). The SRP handshake proved the peer knows the PIN,
// so what it says on that stream is its own key.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bridge/device.hpp"
#include "bridge/security/grants.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::security {

struct PubkeyContext {
    std::shared_ptr<xtls::TrustStore> trust;
    Jid home;                                      // the home account (bare)
    std::string name;                              // the bridge's name ([bridge] name)
    std::function<std::shared_ptr<X509>()> certificate;  // the bridge's device certificate
    SystemClock clock = &std::chrono::system_clock::now;
    // A controller was paired and stored (the lead: burn the PIN, log, approve a friend's subscription).
    std::function<void(const xtls::TrustEntry&)> on_paired;
};

// Adds the feature, the get handler and the pairing hook to the /bridge device.
void install_pubkey_profile(bridge::Device& bridge_device, PubkeyContext context);

}  // namespace xpmn::security
