// The pairing window of BARE/bridge (wire profile §4.1): opened on request
// (`xpmn-bridge pair` through the control socket), it holds one PIN from the
// CSPRNG (6 digits, each unbiased), valid 5 minutes, burned by the 3rd failed
// SRP handshake and by a successful pairing (one-time). While it is active
// the responder offers `srp` and answers the SRP lookup for the initiator's
// full JID with a verifier made from the PIN; otherwise it has nothing to give.
// Time comes from an injected clock so that expiry is testable without waiting.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xmpp/core/jid.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::security {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

// `digits` decimal digits from RAND_bytes, each uniform (rejection sampling);
// throws std::runtime_error when the CSPRNG fails.
std::string random_pin(std::size_t digits);

// Owned by a shared_ptr: the SRP lookups it hands out hold it weakly.
class PairingWindow : public std::enable_shared_from_this<PairingWindow> {
public:
    static constexpr std::chrono::minutes kValidity{5};
    static constexpr int kMaxFailures = 3;
    static constexpr std::size_t kPinDigits = 6;

    struct Opened {
        std::string pin;
        std::chrono::steady_clock::time_point expires;
    };

    explicit PairingWindow(SteadyClock clock = &std::chrono::steady_clock::now,
                           std::function<std::string()> make_pin = [] { return random_pin(kPinDigits); });

    // A new PIN (any previous one is burned) with a fresh failure count.
    Opened open();
    // How long the next PIN is valid: at most kValidity (the profile's 5 minutes).
    void set_validity(std::chrono::seconds validity) { validity_ = std::min<std::chrono::seconds>(validity, kValidity); }
    // A PIN is set, not expired, not burned.
    bool active() const;
    std::optional<std::chrono::steady_clock::time_point> expires() const;
    int failures() const { return failures_; }

    // The SRP lookup for one session whose initiator Jingle named
    // `initiator`: the SRP user must be that full JID; the verifier is made
    // from the PIN active at the time of the handshake.
    tls::SrpLookup srp_lookup(Jid initiator);
    // A handshake with the PIN failed (the responder's security-failure
    // hook); the 3rd failure burns the PIN.
    void failed();
    // An SRP stream is up: the PIN has been used and is burned.
    void succeeded();
    void close();

    // Listeners for the status page / logs: the PIN was burned or expired.
    std::function<void(const std::string& why)> on_burned;

private:
    void burn(const std::string& why);

    SteadyClock clock_;
    std::function<std::string()> make_pin_;
    std::string pin_;  // empty: closed
    std::chrono::steady_clock::time_point expires_{};
    int failures_ = 0;
    std::chrono::seconds validity_ = kValidity;
};

}  // namespace xpmn::security
