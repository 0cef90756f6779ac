#include "xmpp/xtls/device_identity.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/atomic_file.hpp"

namespace xpmn::xtls {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) { throw IdentityError(what + ": " + tls::last_openssl_error()); }

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail(std::string("cannot make the certificate extension ") + value);
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) fail("cannot add a certificate extension");
}

// subjectAltName otherName id-on-xmppAddr = UTF8String BARE, built as ASN.1
// rather than from a config string (a localpart may hold ',' or ';').
void add_xmpp_address(X509* cert, const std::string& bare) {
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_TYPE* value = ASN1_TYPE_new();
    ASN1_UTF8STRING* text = ASN1_UTF8STRING_new();
    ASN1_OBJECT* oid = OBJ_dup(OBJ_nid2obj(NID_XmppAddr));
    bool ok = names && name && value && text && oid &&
              ASN1_STRING_set(text, bare.data(), static_cast<int>(bare.size())) == 1;
    if (ok) {
        ASN1_TYPE_set(value, V_ASN1_UTF8STRING, text);  // value owns text now
        text = nullptr;
        ok = GENERAL_NAME_set0_othername(name, oid, value) == 1;  // name owns both now
        if (ok) oid = nullptr, value = nullptr;
    }
    if (ok) ok = sk_GENERAL_NAME_push(names, name) > 0;
    if (ok) name = nullptr;  // names owns it
    if (ok) ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
    ASN1_UTF8STRING_free(text);
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(value);
    GENERAL_NAME_free(name);
    GENERAL_NAMES_free(names);
    if (!ok) fail("cannot add the xmppAddr subjectAltName");
}

void set_random_serial(X509* cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) fail("no random bytes for the serial number");
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);  // positive, 127 bits, never zero
    BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    if (!ok) fail("cannot set the serial number");
}

template <class Writer>
std::string pem(Writer write) {
    std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || write(bio.get()) != 1) fail("cannot encode PEM");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// Atomic and owner-only (mode 0600): a crash leaves the old state or the new, never half.
void write_private_file(const fs::path& path, const std::string& content) {
    try {
        common::write_file_atomically(path.string(), content);
    } catch (const common::FileError& e) {
        throw IdentityError(e.what());
    }
}

DeviceIdentity create(const fs::path& key_file, const fs::path& cert_file, const Jid& bare_jid) {
    DeviceIdentity out;
    out.identity = make_device_identity(bare_jid);
    out.fingerprint = tls::certificate_sha256(out.identity.cert.get());
    out.created = true;
    // The key first: a crash between the two leaves no certificate anyone has seen.
    write_private_file(key_file, pem([&](BIO* b) {
                           return PEM_write_bio_PrivateKey(b, out.identity.key.get(), nullptr, nullptr, 0, nullptr,
                                                           nullptr);
                       }));
    write_private_file(cert_file, pem([&](BIO* b) { return PEM_write_bio_X509(b, out.identity.cert.get()); }));
    spdlog::info("made a new device identity for {} in {} (certificate SHA-256 {})", bare_jid.str(),
                 key_file.parent_path().string(), out.fingerprint);
    return out;
}

// What to do about a broken identity: it is what paired peers trust.
constexpr const char* kAdvice =
    "restore the files from a backup, or remove both to make a new identity (paired peers then have to pair again)";

DeviceIdentity load(const fs::path& key_file, const fs::path& cert_file, const Jid& bare_jid) {
    struct stat st{};
    if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw IdentityError(key_file.string() + " may be read by other users (mode " + mode +
                            "); make it 0600 (chmod 600)");
    }
    DeviceIdentity out;
    try {
        out.identity = tls::load_identity(cert_file.string(), key_file.string());
    } catch (const tls::TlsError& e) {
        throw IdentityError(std::string("the device identity cannot be used: ") + e.what() + "; " + kAdvice);
    }
    out.fingerprint = tls::certificate_sha256(out.identity.cert.get());
    auto addresses = xmpp_addresses(out.identity.cert.get());
    std::string bare = bare_jid.bare().str();
    if (std::find(addresses.begin(), addresses.end(), bare) == addresses.end())
        spdlog::warn("the device certificate in {} was made for another account than {}; it is used as it is",
                     cert_file.string(), bare);
    return out;
}

}  // namespace

tls::Identity make_device_identity(const Jid& bare_jid) {
    std::string bare = bare_jid.bare().str();
    if (bare.empty()) throw IdentityError("a device identity needs the account's JID");
    tls::Identity id;
    id.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!id.key) fail("cannot make a P-256 key");
    id.cert.reset(X509_new(), X509_free);
    if (!id.cert) fail("cannot make a certificate");
    X509* c = id.cert.get();
    X509_NAME* name = X509_get_subject_name(c);
    bool ok = X509_set_version(c, X509_VERSION_3) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(c), -3600) != nullptr &&  // clocks a little behind
              ASN1_TIME_set_string_X509(X509_getm_notAfter(c), "99991231235959Z") == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(bare.c_str()), -1, -1, 0) == 1 &&
              X509_set_issuer_name(c, name) == 1 && X509_set_pubkey(c, id.key.get()) == 1;
    if (!ok) fail("cannot fill in the certificate");
    set_random_serial(c);
    add_extension(c, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(c, NID_key_usage, "critical,digitalSignature");
    add_extension(c, NID_ext_key_usage, "serverAuth,clientAuth");
    add_extension(c, NID_subject_key_identifier, "hash");
    add_xmpp_address(c, bare);
    if (X509_sign(c, id.key.get(), EVP_sha256()) <= 0) fail("cannot sign the certificate");
    return id;
}

std::vector<std::string> xmpp_addresses(X509* cert) {
    std::vector<std::string> out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        if (n->type != GEN_OTHERNAME || OBJ_obj2nid(n->d.otherName->type_id) != NID_XmppAddr) continue;
        const ASN1_TYPE* v = n->d.otherName->value;
        if (!v || v->type != V_ASN1_UTF8STRING) continue;
        const ASN1_STRING* s = v->value.utf8string;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
    return out;
}

DeviceIdentity load_or_create(const std::string& state_dir, const Jid& bare_jid) {
    fs::path dir(state_dir);
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        if (!fs::create_directories(dir, ec) && ec)
            throw IdentityError("cannot create the state directory " + state_dir + ": " + ec.message());
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    }
    fs::path key_file = dir / kIdentityKeyFile, cert_file = dir / kIdentityCertFile;
    bool has_key = fs::exists(key_file, ec), has_cert = fs::exists(cert_file, ec);
    if (!has_key && !has_cert) return create(key_file, cert_file, bare_jid);
    if (!has_key || !has_cert)
        throw IdentityError((has_key ? cert_file : key_file).string() + " is missing while " +
                            (has_key ? key_file : cert_file).string() +
                            " exists: " + kAdvice);
    return load(key_file, cert_file, bare_jid);
}

}  // namespace xpmn::xtls
