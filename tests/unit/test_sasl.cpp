// SaslClient against the published SCRAM vectors (RFC 5802 §5, RFC 7677 §3),
// plus PLAIN, EXTERNAL and mechanism choice.
//
// The vectors fix the client nonce, which gsasl draws at random: in gsasl 2.2
// the SCRAM client's start calls gsasl_nonce(buf, 18) and then
// gsasl_base64_to(buf, 18) -- both exported libgsasl functions that it calls
// through the PLT, so a definition in this executable takes precedence (ELF
// symbol interposition; the linker exports them because libgsasl defines them).
//   * RFC 5802: its nonce "fyko+d2lbbFgONRv9qkxdawL" is exactly base64 of 18
//     bytes, so gsasl_nonce hands out those bytes and gsasl's own encoding
//     reproduces the nonce: only the randomness is replaced.
//   * RFC 7677: its nonce "rOprNGfwEbeRWgbNEkqO" has 20 characters (15 bytes),
//     which an 18-byte gsasl nonce can never encode to. gsasl_nonce hands out
//     a marker and gsasl_base64_to turns exactly that marker into the RFC's
//     nonce text. Everything after that (SASLprep, GS2 header, PBKDF2, proof,
//     AuthMessage, server signature check) is gsasl's unmodified code.
// Outside an armed test both hooks forward to the real functions (RTLD_NEXT).
#include <dlfcn.h>
#include <gsasl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>
#include <string>

#include "xmpp/sasl/sasl_client.hpp"

using xpmn::sasl::choose_mechanism;
using xpmn::sasl::Credentials;
using xpmn::sasl::SaslClient;
using State = xpmn::sasl::Step::State;

namespace {

struct NonceHook {
    bool armed = false;
    std::string raw;      // what gsasl_nonce returns
    std::string encoded;  // if set: what gsasl_base64_to returns for `raw`
    int nonce_calls = 0;
    int encode_calls = 0;
} hook;

template <class Fn>
Fn real(const char* name) {
    void* sym = dlsym(RTLD_NEXT, name);
    if (!sym) std::abort();
    return reinterpret_cast<Fn>(sym);
}

}  // namespace

// Default visibility so the hooks stay exported even under -fvisibility=hidden.
#define XPMN_INTERPOSE extern "C" __attribute__((visibility("default")))

XPMN_INTERPOSE int gsasl_nonce(char* data, size_t datalen) {
    if (hook.armed && datalen == hook.raw.size()) {
        std::memcpy(data, hook.raw.data(), datalen);
        ++hook.nonce_calls;
        return GSASL_OK;
    }
    static auto fn = real<int (*)(char*, size_t)>("gsasl_nonce");
    return fn(data, datalen);
}

XPMN_INTERPOSE int gsasl_base64_to(const char* in, size_t inlen, char** out, size_t* outlen) {
    if (hook.armed && !hook.encoded.empty() && inlen == hook.raw.size() &&
        std::memcmp(in, hook.raw.data(), inlen) == 0) {
        *out = strdup(hook.encoded.c_str());  // gsasl releases it with free()
        if (!*out) return GSASL_MALLOC_ERROR;
        if (outlen) *outlen = hook.encoded.size();
        ++hook.encode_calls;
        return GSASL_OK;
    }
    static auto fn = real<int (*)(const char*, size_t, char**, size_t*)>("gsasl_base64_to");
    return fn(in, inlen, out, outlen);
}

namespace {

std::string b64(std::string_view raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    out.resize(n);
    return out;
}

std::string unb64(std::string_view text) {
    if (text == "=") return {};
    std::string out(3 * text.size() / 4 + 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    EXPECT_GE(n, 0) << "bad base64: " << text;
    if (n < 0) return {};
    size_t pad = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
    out.resize(n - pad);
    return out;
}

// Arms the hooks for one test and always disarms them afterwards.
struct ForcedNonce {
    ForcedNonce(std::string raw, std::string encoded = {}) {
        hook = NonceHook{true, std::move(raw), std::move(encoded), 0, 0};
    }
    ~ForcedNonce() { hook.armed = false; }
};

const Credentials kUser{"user", "", "pencil", "example.com"};

constexpr const char* kSha1Nonce = "fyko+d2lbbFgONRv9qkxdawL";
constexpr const char* kSha1ServerFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
constexpr const char* kSha1ClientFinal =
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
constexpr const char* kSha1ServerFinal = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

constexpr const char* kSha256Nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kSha256ServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kSha256ClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kSha256ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// Runs create + start + the server-first challenge; returns the client.
std::unique_ptr<SaslClient> scram_until_client_final(const char* mech, const char* nonce, const char* server_first,
                                                     const char* expected_client_final) {
    auto c = SaslClient::create(mech, kUser);
    auto first = c->start();
    EXPECT_EQ(first.state, State::Continue) << first.error;
    EXPECT_EQ(unb64(first.response_base64), std::string("n,,n=user,r=") + nonce);
    auto final_msg = c->step(b64(server_first));
    EXPECT_EQ(final_msg.state, State::Continue) << final_msg.error;
    EXPECT_EQ(unb64(final_msg.response_base64), expected_client_final);
    return c;
}

}  // namespace

TEST(SaslScram, Rfc5802Sha1Vector) {
    ForcedNonce forced(unb64(kSha1Nonce));  // nonce bytes only; gsasl encodes them itself
    auto c = scram_until_client_final("SCRAM-SHA-1", kSha1Nonce, kSha1ServerFirst, kSha1ClientFinal);
    EXPECT_TRUE(c->finish(b64(kSha1ServerFinal)));
    EXPECT_EQ(hook.nonce_calls, 1) << "gsasl no longer calls gsasl_nonce through the PLT: the vector test is blind";
    EXPECT_EQ(hook.encode_calls, 0);
}

TEST(SaslScram, Rfc7677Sha256Vector) {
    ForcedNonce forced(std::string(18, '\x5a'), kSha256Nonce);
    auto c = scram_until_client_final("SCRAM-SHA-256", kSha256Nonce, kSha256ServerFirst, kSha256ClientFinal);
    EXPECT_TRUE(c->finish(b64(kSha256ServerFinal)));
    EXPECT_EQ(hook.nonce_calls, 1) << "gsasl no longer calls gsasl_nonce through the PLT: the vector test is blind";
    EXPECT_EQ(hook.encode_calls, 1);
}

TEST(SaslScram, WrongServerSignatureIsRejected) {
    ForcedNonce forced(unb64(kSha1Nonce));
    auto c = scram_until_client_final("SCRAM-SHA-1", kSha1Nonce, kSha1ServerFirst, kSha1ClientFinal);
    EXPECT_FALSE(c->finish(b64("v=rmF9pqV8S7suAoZWja4dJRkFsKR=")));
    EXPECT_FALSE(c->finish(b64(kSha1ServerFinal)));  // failed for good
}

TEST(SaslScram, Sha256WrongServerSignatureIsRejected) {
    ForcedNonce forced(std::string(18, '\x5a'), kSha256Nonce);
    auto c = scram_until_client_final("SCRAM-SHA-256", kSha256Nonce, kSha256ServerFirst, kSha256ClientFinal);
    EXPECT_FALSE(c->finish(b64(kSha1ServerFinal)));
}

TEST(SaslScram, SuccessWithoutServerSignatureIsRejected) {
    ForcedNonce forced(unb64(kSha1Nonce));
    auto c = scram_until_client_final("SCRAM-SHA-1", kSha1Nonce, kSha1ServerFirst, kSha1ClientFinal);
    EXPECT_FALSE(c->finish(""));
}

TEST(SaslScram, ServerSignatureInChallengeThenEmptySuccess) {
    // RFC 6120 §6.3.10 allows the server-final as a challenge; the client
    // answers with an empty response and <success/> carries no data.
    ForcedNonce forced(unb64(kSha1Nonce));
    auto c = scram_until_client_final("SCRAM-SHA-1", kSha1Nonce, kSha1ServerFirst, kSha1ClientFinal);
    auto last = c->step(b64(kSha1ServerFinal));
    EXPECT_EQ(last.state, State::Done) << last.error;
    EXPECT_EQ(last.response_base64, "");
    EXPECT_TRUE(c->finish("="));
}

TEST(SaslScram, BadServerSignatureInChallengeIsAnError) {
    ForcedNonce forced(unb64(kSha1Nonce));
    auto c = scram_until_client_final("SCRAM-SHA-1", kSha1Nonce, kSha1ServerFirst, kSha1ClientFinal);
    EXPECT_EQ(c->step(b64("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")).state, State::Error);
    EXPECT_FALSE(c->finish(""));
}

TEST(SaslScram, ServerNonceMustExtendClientNonce) {
    ForcedNonce forced(unb64(kSha1Nonce));
    auto c = SaslClient::create("SCRAM-SHA-1", kUser);
    ASSERT_EQ(c->start().state, State::Continue);
    auto s = c->step(b64("r=somebodyelse3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"));
    EXPECT_EQ(s.state, State::Error);
    EXPECT_FALSE(s.error.empty());
}

TEST(SaslScram, ExcessiveIterationCountIsRefused) {
    ForcedNonce forced(unb64(kSha1Nonce));
    auto c = SaslClient::create("SCRAM-SHA-1", kUser);
    ASSERT_EQ(c->start().state, State::Continue);
    auto s = c->step(b64("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4000000000"));
    EXPECT_EQ(s.state, State::Error);
    EXPECT_NE(s.error.find("iterations"), std::string::npos) << s.error;
}

TEST(SaslScram, MalformedChallengeIsAnError) {
    auto c = SaslClient::create("SCRAM-SHA-256", kUser);
    ASSERT_EQ(c->start().state, State::Continue);
    EXPECT_EQ(c->step("!!not base64!!").state, State::Error);
}

TEST(SaslScram, RandomNoncesDiffer) {
    // Unhooked: the real gsasl_nonce is in use.
    auto a = SaslClient::create("SCRAM-SHA-1", kUser)->start();
    auto b = SaslClient::create("SCRAM-SHA-1", kUser)->start();
    EXPECT_NE(a.response_base64, b.response_base64);
    EXPECT_TRUE(unb64(a.response_base64).starts_with("n,,n=user,r="));
}

TEST(SaslScram, UsernameIsEscaped) {
    // RFC 5802 §5.1: ',' and '=' in the username become =2C and =3D.
    auto c = SaslClient::create("SCRAM-SHA-1", Credentials{"a,b=c", "", "pencil", "example.com"});
    EXPECT_TRUE(unb64(c->start().response_base64).starts_with("n,,n=a=2Cb=3Dc,r="));
}

TEST(SaslPlain, InitialResponse) {
    auto c = SaslClient::create("PLAIN", kUser);
    auto s = c->start();
    EXPECT_EQ(s.state, State::Done);
    EXPECT_EQ(s.response_base64, b64(std::string("\0user\0pencil", 12)));
    EXPECT_EQ(s.response_base64, "AHVzZXIAcGVuY2ls");
    EXPECT_TRUE(c->finish(""));
}

TEST(SaslPlain, WithAuthzid) {
    auto c = SaslClient::create("PLAIN", Credentials{"user", "admin@example.com", "pencil", "example.com"});
    EXPECT_EQ(unb64(c->start().response_base64), std::string("admin@example.com\0user\0pencil", 29));
}

TEST(SaslExternal, EmptyInitialResponseIsEquals) {
    auto c = SaslClient::create("EXTERNAL", Credentials{"", "", "", "example.com", true});
    auto s = c->start();
    EXPECT_EQ(s.state, State::Done) << s.error;
    EXPECT_EQ(s.response_base64, "=");
    EXPECT_TRUE(c->finish("="));
}

TEST(SaslExternal, AuthzidIsTheInitialResponse) {
    auto c = SaslClient::create("EXTERNAL", Credentials{"", "juliet@example.com", "", "example.com", true});
    EXPECT_EQ(unb64(c->start().response_base64), "juliet@example.com");
}

TEST(SaslClientApi, CreateRejectsWhatWeCannotDo) {
    EXPECT_THROW(SaslClient::create("SCRAM-SHA-1-PLUS", kUser), std::runtime_error);
    EXPECT_THROW(SaslClient::create("SCRAM-SHA-256-PLUS", kUser), std::runtime_error);
    EXPECT_THROW(SaslClient::create("X-NO-SUCH-MECH", kUser), std::runtime_error);
    EXPECT_THROW(SaslClient::create("PLAIN", Credentials{"user", "", "", "example.com"}), std::runtime_error);
    EXPECT_THROW(SaslClient::create("SCRAM-SHA-1", Credentials{"", "", "pencil", "example.com"}), std::runtime_error);
}

TEST(SaslClientApi, OutOfOrderCallsFail) {
    auto c = SaslClient::create("SCRAM-SHA-1", kUser);
    EXPECT_FALSE(c->finish(""));  // before start()
    auto c2 = SaslClient::create("PLAIN", kUser);
    ASSERT_EQ(c2->start().state, State::Done);
    EXPECT_EQ(c2->step("").state, State::Error);  // PLAIN takes no challenge
    EXPECT_EQ(c2->mechanism(), "PLAIN");
}

TEST(ChooseMechanism, PreferenceOrder) {
    const std::vector<std::string> all{"PLAIN", "SCRAM-SHA-1", "EXTERNAL", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS",
                                       "SCRAM-SHA-256-PLUS"};
    Credentials with_cert = kUser;
    with_cert.have_client_cert = true;
    EXPECT_EQ(choose_mechanism(all, with_cert, true), "EXTERNAL");
    EXPECT_EQ(choose_mechanism(all, kUser, true), "SCRAM-SHA-256");
    EXPECT_EQ(choose_mechanism({"PLAIN", "SCRAM-SHA-1"}, kUser, true), "SCRAM-SHA-1");
    EXPECT_EQ(choose_mechanism({"PLAIN", "SCRAM-SHA-1"}, kUser, false), "SCRAM-SHA-1");
    EXPECT_EQ(choose_mechanism({"PLAIN"}, kUser, true), "PLAIN");
    EXPECT_EQ(choose_mechanism({" SCRAM-SHA-256\n"}, kUser, true), "SCRAM-SHA-256");
}

TEST(ChooseMechanism, Refusals) {
    EXPECT_EQ(choose_mechanism({"PLAIN"}, kUser, false), std::nullopt);  // no PLAIN without TLS
    EXPECT_EQ(choose_mechanism({"EXTERNAL"}, kUser, true), std::nullopt);  // no certificate
    EXPECT_EQ(choose_mechanism({"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"}, kUser, true), std::nullopt);
    EXPECT_EQ(choose_mechanism({"DIGEST-MD5", "CRAM-MD5", "ANONYMOUS"}, kUser, true), std::nullopt);
    EXPECT_EQ(choose_mechanism({}, kUser, true), std::nullopt);
    EXPECT_EQ(choose_mechanism({"SCRAM-SHA-256", "PLAIN"}, Credentials{"user", "", "", "example.com"}, true),
              std::nullopt);  // no password
    Credentials cert_only{"", "", "", "example.com", true};
    EXPECT_EQ(choose_mechanism({"SCRAM-SHA-256", "EXTERNAL"}, cert_only, true), "EXTERNAL");
    EXPECT_EQ(choose_mechanism({"SCRAM-SHA-256"}, cert_only, true), std::nullopt);
}
