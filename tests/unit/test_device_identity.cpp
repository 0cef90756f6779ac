// Device identity: made once in the state directory (0600 files, the
// certificate profile of wire profile §3.2), the same on every later start,
// and never silently replaced when a file is damaged or missing.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/xtls_test_pair.hpp"
#include "xmpp/xtls/device_identity.hpp"

using namespace xpmn;
namespace fs = std::filesystem;

namespace {

const Jid kHome = Jid::must_parse("home@example.org");

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned mode_of(const fs::path& p) {
    struct stat st{};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

struct Identity : ::testing::Test {
    fs::path root;
    fs::path state;  // not there yet: made by the first start
    void SetUp() override {
        std::string tmpl = (fs::path(::testing::TempDir()) / "identity-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root = tmpl;
        state = root / "state";
    }
    void TearDown() override { fs::remove_all(root); }
    fs::path key() const { return state / xtls::kIdentityKeyFile; }
    fs::path cert() const { return state / xtls::kIdentityCertFile; }
    // load_or_create's IdentityError text, or "" when it succeeded.
    std::string refusal() {
        try {
            xtls::load_or_create(state.string(), kHome);
            return {};
        } catch (const xtls::IdentityError& e) {
            return e.what();
        }
    }
};

TEST_F(Identity, FirstStartMakesPrivateFilesInANewStateDir) {
    auto id = xtls::load_or_create(state.string(), kHome);
    EXPECT_TRUE(id.created);
    ASSERT_TRUE(id.identity);
    EXPECT_EQ(id.fingerprint, tls::certificate_sha256(id.identity.cert.get()));
    EXPECT_EQ(mode_of(state), 0700u);
    EXPECT_EQ(mode_of(key()), 0600u);
    EXPECT_EQ(mode_of(cert()), 0600u);
    EXPECT_NE(slurp(key()).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    EXPECT_NE(slurp(cert()).find("-----BEGIN CERTIFICATE-----"), std::string::npos);
    for (const auto& entry : fs::directory_iterator(state))  // no temporary files left
        EXPECT_TRUE(entry.path() == key() || entry.path() == cert()) << entry.path();
}

TEST_F(Identity, LaterStartsLoadTheSameIdentity) {
    auto first = xtls::load_or_create(state.string(), kHome);
    std::string key_pem = slurp(key());
    auto again = xtls::load_or_create(state.string(), kHome);
    EXPECT_FALSE(again.created);
    EXPECT_EQ(again.fingerprint, first.fingerprint);
    EXPECT_EQ(EVP_PKEY_eq(again.identity.key.get(), first.identity.key.get()), 1);
    EXPECT_EQ(slurp(key()), key_pem);
}

TEST_F(Identity, CertificateProfile) {
    tls::Identity id = xtls::make_device_identity(Jid::must_parse("home@example.org/bridge"));
    X509* c = id.cert.get();
    EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
    EXPECT_EQ(xtls::xmpp_addresses(c), std::vector<std::string>{"home@example.org"});  // the bare JID
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(c)), 0);  // self-issued
    EXPECT_EQ(X509_verify(c, id.key.get()), 1);      // and self-signed
    EXPECT_EQ(EVP_PKEY_get_id(id.key.get()), EVP_PKEY_EC);
    char group[32] = {};
    ASSERT_EQ(EVP_PKEY_get_utf8_string_param(id.key.get(), "group", group, sizeof group, nullptr), 1);
    EXPECT_STREQ(group, "prime256v1");
    EXPECT_EQ(X509_get_signature_nid(c), NID_ecdsa_with_SHA256);
    std::unique_ptr<ASN1_TIME, void (*)(ASN1_TIME*)> forever(ASN1_TIME_new(), ASN1_TIME_free);
    ASSERT_EQ(ASN1_TIME_set_string_X509(forever.get(), "99991231235959Z"), 1);
    EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(c), forever.get()), 0);  // no expiry (RFC 5280)
    EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(c)), 0);  // valid already
    const ASN1_INTEGER* serial = X509_get0_serialNumber(c);
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // positive
    EXPECT_EQ(ASN1_STRING_length(serial), 16);
    EXPECT_EQ(X509_check_purpose(c, X509_PURPOSE_SSL_CLIENT, 0), 1);
    EXPECT_EQ(X509_check_purpose(c, X509_PURPOSE_SSL_SERVER, 0), 1);
    EXPECT_EQ(X509_check_ca(c), 0);

    tls::Identity other = xtls::make_device_identity(kHome);
    EXPECT_NE(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(other.cert.get())), 0);  // random serials
    EXPECT_NE(tls::certificate_sha256(c), tls::certificate_sha256(other.cert.get()));
}

// RFC 7622 allows ',' and ';' in a localpart: the name is ASN.1, not config text.
TEST_F(Identity, UnusualLocalpartsSurvive) {
    Jid odd = Jid::must_parse("a,b;c=d@example.org");
    EXPECT_EQ(xtls::xmpp_addresses(xtls::make_device_identity(odd).cert.get()),
              std::vector<std::string>{"a,b;c=d@example.org"});
}

TEST_F(Identity, CorruptCertificateIsAnErrorAndNotReplaced) {
    xtls::load_or_create(state.string(), kHome);
    std::ofstream(cert(), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n";
    std::string before = slurp(cert()), key_before = slurp(key());
    std::string why = refusal();
    EXPECT_NE(why.find("cannot be used"), std::string::npos) << why;
    EXPECT_NE(why.find(cert().string()), std::string::npos) << why;
    EXPECT_EQ(slurp(cert()), before);
    EXPECT_EQ(slurp(key()), key_before);
}

TEST_F(Identity, CorruptOrForeignKeyIsAnError) {
    xtls::load_or_create(state.string(), kHome);
    std::string good_key = slurp(key());
    std::ofstream(key(), std::ios::trunc) << "not a key";
    ::chmod(key().c_str(), 0600);
    EXPECT_NE(refusal().find(key().string()), std::string::npos);

    // A key of another identity: does not match the certificate.
    fs::path elsewhere = root / "other";
    xtls::load_or_create(elsewhere.string(), kHome);
    fs::copy_file(elsewhere / xtls::kIdentityKeyFile, key(), fs::copy_options::overwrite_existing);
    EXPECT_NE(refusal().find("does not match"), std::string::npos);
}

TEST_F(Identity, OneFileMissingIsAnError) {
    xtls::load_or_create(state.string(), kHome);
    fs::remove(cert());
    std::string why = refusal();
    EXPECT_NE(why.find(cert().string() + " is missing"), std::string::npos) << why;
    EXPECT_FALSE(fs::exists(cert()));  // not made again

    fs::remove(key());
    xtls::load_or_create(state.string(), kHome);
    fs::remove(key());
    why = refusal();
    EXPECT_NE(why.find(key().string() + " is missing"), std::string::npos) << why;
}

TEST_F(Identity, KeyReadableByOthersIsRefused) {
    xtls::load_or_create(state.string(), kHome);
    ::chmod(key().c_str(), 0644);
    std::string why = refusal();
    EXPECT_NE(why.find("0644"), std::string::npos) << why;
    EXPECT_NE(why.find("chmod 600"), std::string::npos) << why;
}

TEST_F(Identity, UnusableStateDirIsAnError) {
    fs::create_directories(root);
    std::ofstream(root / "file") << "x";
    state = root / "file" / "state";
    EXPECT_NE(refusal().find("cannot create the state directory"), std::string::npos);
}

// Two installations' identities secure an end-to-end stream with each other.
struct IdentityOverXtls : test_xtls::XtlsPair {};

TEST_F(IdentityOverXtls, TwoDeviceIdentitiesPair) {
    auto as_test = [](const tls::Identity& id) {
        return test_tls::SelfSigned{id.key, id.cert, tls::certificate_sha256(id.cert.get())};
    };
    phone = as_test(xtls::make_device_identity(Jid::must_parse("juliet@capulet.lit")));
    bridge = as_test(xtls::make_device_identity(Jid::must_parse("home@example.org")));
    phone_trusts = {bridge.sha256};
    bridge_trusts = {phone.sha256};
    open();
    EXPECT_EQ(initiator.channel->peer()->fingerprint, bridge.sha256);
    EXPECT_EQ(responder.channel->peer()->fingerprint, phone.sha256);
}

}  // namespace
