#include "xmpp/sasl/sasl_client.hpp"

#include <gsasl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <stdexcept>

namespace xpmn::sasl {

namespace {

// One library context for the process. It is only read after gsasl_init (no
// callback is ever installed), so sessions on any thread may share it.
Gsasl* context() {
    static const std::unique_ptr<Gsasl, void (*)(Gsasl*)> ctx = [] {
        Gsasl* c = nullptr;
        if (int rc = gsasl_init(&c); rc != GSASL_OK)
            throw std::runtime_error(std::string("gsasl_init failed: ") + gsasl_strerror(rc));
        return std::unique_ptr<Gsasl, void (*)(Gsasl*)>(c, gsasl_done);
    }();
    return ctx.get();
}

std::string describe(int rc) {
    const char* name = gsasl_strerror_name(rc);
    return std::string(name ? name : "GSASL_UNKNOWN") + ": " + gsasl_strerror(rc);
}

void wipe(std::string& s) {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

bool is_scram(std::string_view mech) { return mech.starts_with("SCRAM-"); }

bool needs_password(std::string_view mech) { return is_scram(mech) || mech == "PLAIN"; }

std::string_view trim(std::string_view s) {
    constexpr std::string_view ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// XMPP base64 payload -> what gsasl_step64 takes: no whitespace, and "=" (RFC
// 6120's marker for present-but-empty data) as the empty string.
std::optional<std::string> normalize_input(std::string_view b64) {
    std::string out;
    out.reserve(b64.size());
    for (char c : b64) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (c == '\0') return std::nullopt;  // would silently truncate the C string
        out += c;
    }
    if (out == "=") out.clear();
    return out;
}

// The i= attribute of a SCRAM server-first-message, if it is a plain number.
std::optional<unsigned long> scram_iterations(const std::string& server_first_b64) {
    char* raw = nullptr;
    size_t len = 0;
    if (gsasl_base64_from(server_first_b64.data(), server_first_b64.size(), &raw, &len) != GSASL_OK) return {};
    std::string msg(raw ? raw : "", raw ? len : 0);
    gsasl_free(raw);
    for (size_t pos = 0; pos <= msg.size();) {
        size_t end = std::min(msg.find(',', pos), msg.size());
        std::string_view attr(msg.data() + pos, end - pos);
        if (attr.starts_with("i=")) {
            unsigned long n = 0;
            const char* last = attr.data() + attr.size();
            auto [p, ec] = std::from_chars(attr.data() + 2, last, n);
            if (ec == std::errc::result_out_of_range) return ULONG_MAX;  // overlong: as bad as huge
            if (ec != std::errc() || p != last) return std::nullopt;     // gsasl rejects it itself
            return n;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> choose_mechanism(const std::vector<std::string>& offered, const Credentials& creds,
                                            bool tls_active) {
    Gsasl* ctx = context();
    auto usable = [&](std::string_view mech) {
        bool listed = std::any_of(offered.begin(), offered.end(), [&](const std::string& o) { return trim(o) == mech; });
        return listed && gsasl_client_support_p(ctx, std::string(mech).c_str());
    };
    if (creds.have_client_cert && usable("EXTERNAL")) return "EXTERNAL";
    if (creds.authcid.empty() || creds.password.empty()) return std::nullopt;
    for (const char* mech : {"SCRAM-SHA-256", "SCRAM-SHA-1"})
        if (usable(mech)) return mech;
    if (tls_active && usable("PLAIN")) return "PLAIN";  // the password in the clear: only inside TLS
    return std::nullopt;
}

std::unique_ptr<SaslClient> SaslClient::create(const std::string& mechanism, const Credentials& creds) {
    if (mechanism.ends_with("-PLUS"))
        throw std::runtime_error("SASL " + mechanism + ": channel binding is not supported");
    if (needs_password(mechanism) && (creds.authcid.empty() || creds.password.empty()))
        throw std::runtime_error("SASL " + mechanism + " needs a username and a password");
    for (const std::string* s : {&creds.authcid, &creds.authzid, &creds.password, &creds.hostname})
        if (s->find('\0') != std::string::npos)
            throw std::runtime_error("SASL " + mechanism + ": credentials must not contain NUL characters");

    Gsasl_session* session = nullptr;
    if (int rc = gsasl_client_start(context(), mechanism.c_str(), &session); rc != GSASL_OK)
        throw std::runtime_error("SASL mechanism '" + mechanism + "' cannot be started: " + describe(rc));
    std::unique_ptr<SaslClient> client(new SaslClient(mechanism, session));

    auto set = [&](Gsasl_property prop, const std::string& value) {
        if (value.empty()) return;  // unset, not "": SCRAM would send an empty a= otherwise
        if (int rc = gsasl_property_set(session, prop, value.c_str()); rc != GSASL_OK)
            throw std::runtime_error("SASL " + mechanism + ": gsasl_property_set failed: " + describe(rc));
    };
    set(GSASL_AUTHID, creds.authcid);
    set(GSASL_AUTHZID, creds.authzid);
    if (needs_password(mechanism)) set(GSASL_PASSWORD, creds.password);  // EXTERNAL never sees it
    set(GSASL_SERVICE, "xmpp");
    set(GSASL_HOSTNAME, creds.hostname);
    return client;
}

SaslClient::SaslClient(std::string mechanism, Gsasl_session* session)
    : mechanism_(std::move(mechanism)), session_(session) {}

SaslClient::~SaslClient() { gsasl_finish(session_); }

Step SaslClient::fail(std::string message) {
    phase_ = Phase::Failed;
    drop_password();
    return Step{Step::State::Error, {}, std::move(message)};
}

// Frees what gsasl keeps of the password once the mechanism has used it, so
// it does not linger for the rest of the session.
void SaslClient::drop_password() {
    gsasl_property_free(session_, GSASL_PASSWORD);
    gsasl_property_free(session_, GSASL_SCRAM_SALTED_PASSWORD);
}

Step SaslClient::run(std::string_view input_base64, bool initial) {
    auto input = normalize_input(input_base64);
    if (!input) return fail("malformed base64 from the server");

    char* out = nullptr;
    int rc = gsasl_step64(session_, input->c_str(), &out);
    std::string response = out ? out : "";
    if (out) OPENSSL_cleanse(out, response.size());  // a PLAIN response holds the password
    gsasl_free(out);

    if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
        wipe(response);
        return fail(describe(rc));
    }
    phase_ = rc == GSASL_OK ? Phase::Complete : Phase::Running;
    // Every mechanism we drive consumes the password in its first client
    // message that depends on it: start() for PLAIN, the client-final for SCRAM.
    if (!is_scram(mechanism_) || !initial) drop_password();
    if (initial && response.empty()) response = "=";
    return Step{rc == GSASL_OK ? Step::State::Done : Step::State::Continue, std::move(response), {}};
}

Step SaslClient::start() {
    if (phase_ != Phase::Fresh) return fail("start() called out of order");
    return run({}, true);
}

Step SaslClient::step(std::string_view challenge_base64) {
    if (phase_ != Phase::Running) return fail("unexpected challenge from the server");
    if (is_scram(mechanism_) && challenges_ == 0) {
        auto input = normalize_input(challenge_base64);
        auto iterations = input ? scram_iterations(*input) : std::nullopt;
        if (iterations && *iterations > kMaxScramIterations)
            return fail("the server asks for " + std::to_string(*iterations) + " SCRAM iterations (limit " +
                        std::to_string(kMaxScramIterations) + ")");
    }
    ++challenges_;
    return run(challenge_base64, false);
}

bool SaslClient::finish(std::string_view success_base64) {
    switch (phase_) {
        case Phase::Complete:
            // Nothing left to verify: PLAIN/EXTERNAL, or SCRAM whose server
            // signature already came (and was checked) in a challenge.
            return true;
        case Phase::Running: {
            // The <success/> data is the mechanism's last server message
            // (SCRAM: v=ServerSignature). It must complete the mechanism.
            Step s = run(success_base64, false);
            return s.state == Step::State::Done && s.response_base64.empty();
        }
        case Phase::Fresh:
        case Phase::Failed:
            break;
    }
    return false;
}

}  // namespace xpmn::sasl
