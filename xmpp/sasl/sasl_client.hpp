// Client side of SASL (RFC 4422) as XMPP uses it (RFC 6120 §6), on GNU SASL.
// The mechanisms themselves (SCRAM, PLAIN, EXTERNAL) are gsasl's; this layer
// picks one per our wire profile, feeds it all credentials up front (no gsasl
// callbacks, so every call returns at once and fits an async event loop) and
// maps XMPP's base64 conventions ("=" for empty data) onto gsasl_step64.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct Gsasl_session;  // gsasl.h stays out of this header

namespace xpmn::sasl {

struct Credentials {
    std::string authcid;            // username (JID localpart)
    std::string authzid;            // optional, usually empty
    std::string password;           // never logged
    std::string hostname;           // XMPP domain
    bool have_client_cert = false;  // enables EXTERNAL
};

// A server asking for more PBKDF2 rounds than this is refused: the derivation
// runs synchronously inside step() and must not stall the event loop.
inline constexpr unsigned long kMaxScramIterations = 1'000'000;

// Preference: EXTERNAL (only with a client certificate) > SCRAM-SHA-256 >
// SCRAM-SHA-1 > PLAIN (only over TLS). Password mechanisms need a non-empty
// authcid and password. Never a *-PLUS variant (no channel binding yet).
// Mechanism names are compared exactly after trimming whitespace. Returns
// nullopt if nothing offered fits.
std::optional<std::string> choose_mechanism(const std::vector<std::string>& offered, const Credentials& creds,
                                            bool tls_active);

struct Step {
    enum class State { Continue, Done, Error };
    State state = State::Error;
    std::string response_base64;  // payload of <auth/> or <response/>
    std::string error;            // set when state == Error; never contains secrets
};

class SaslClient {
public:
    // Throws std::runtime_error if the mechanism is unknown, unsupported, a
    // *-PLUS variant, or the credentials it needs are missing.
    static std::unique_ptr<SaslClient> create(const std::string& mechanism, const Credentials& creds);
    ~SaslClient();
    SaslClient(const SaslClient&) = delete;
    SaslClient& operator=(const SaslClient&) = delete;

    // The initial response for <auth/>. Empty data comes back as "=" (RFC 6120
    // §6.4.2). Done means the mechanism needs no challenge (PLAIN, EXTERNAL);
    // the server's <success/> still has to arrive.
    Step start();

    // Answers a <challenge/> (base64; "=" or empty both mean no data). An
    // empty answer comes back as "" and goes out as an empty <response/>.
    Step step(std::string_view challenge_base64);

    // Takes the base64 additional data of <success/> (may be empty or "=").
    // For SCRAM it verifies the server signature (v=...) unless a challenge
    // already carried it. false: the server is not authentic, abort.
    bool finish(std::string_view success_base64);

    const std::string& mechanism() const { return mechanism_; }

private:
    enum class Phase { Fresh, Running, Complete, Failed };

    SaslClient(std::string mechanism, Gsasl_session* session);
    Step run(std::string_view input_base64, bool initial);
    Step fail(std::string message);
    void drop_password();

    std::string mechanism_;
    Gsasl_session* session_;
    Phase phase_ = Phase::Fresh;
    int challenges_ = 0;
};

}  // namespace xpmn::sasl
