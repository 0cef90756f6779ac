// TLS-SRP (RFC 5054) for XTLS pairing with a PIN (wire profile §3.1, §4.1).
// OpenSSL 3 marks its SRP API deprecated but still ships and supports it,
// and there is no replacement in OpenSSL; the wire profile needs exactly
// this ciphersuite. So this one file uses the deprecated calls on purpose,
// with the deprecation warnings suppressed here and nowhere else.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "xmpp/tls/tls_srp.hpp"

#include <openssl/bn.h>
#include <openssl/srp.h>

#include "xmpp/tls/tls_context.hpp"

namespace xpmn::tls {

namespace {

// The one SRP ciphersuite of the profile. OpenSSL puts SRP (SHA-1 MAC, no
// certificate) below security level 1, so the level is lowered for these
// connections only, together with the cipher list that allows nothing else.
constexpr const char* kSrpCiphers = "SRP-AES-256-CBC-SHA:@SECLEVEL=0";

using BnPtr = std::unique_ptr<BIGNUM, void (*)(BIGNUM*)>;

std::string bn_bytes(const BIGNUM* bn) {
    std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

BnPtr bytes_bn(const std::string& bytes) {
    return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()),
                           nullptr),
                 BN_clear_free);
}

// The server learns the user name from the client hello and asks the
// connection's lookup for the verifier.
int on_srp_user(SSL* ssl, int* alert, void*) {
    ConnectionChecks* checks = checks_of(ssl);
    const char* user = SSL_get_srp_username(ssl);
    if (!checks || !checks->srp_lookup || !user) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL3_AL_FATAL;
    }
    auto v = checks->srp_lookup(user);
    const SRP_gN* gn = v ? SRP_get_default_gN(v->group.c_str()) : nullptr;
    if (!v || !gn) {
        checks->rejected = v ? "unknown SRP group " + v->group : "unknown SRP user " + std::string(user);
        *alert = SSL_AD_UNKNOWN_PSK_IDENTITY;
        return SSL3_AL_FATAL;
    }
    auto salt = bytes_bn(v->salt), verifier = bytes_bn(v->verifier);
    // OpenSSL copies the numbers.
    if (!salt || !verifier || SSL_set_srp_server_param(ssl, gn->N, gn->g, salt.get(), verifier.get(), nullptr) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL3_AL_FATAL;
    }
    return SSL_ERROR_NONE;
}

}  // namespace

void enable_srp_server(SSL_CTX* ctx) { SSL_CTX_set_srp_username_callback(ctx, on_srp_user); }

void use_srp_server(SSL* ssl) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);  // SRP proves both sides; no certificates
    if (SSL_set_max_proto_version(ssl, TLS1_2_VERSION) != 1 || SSL_set_cipher_list(ssl, kSrpCiphers) != 1)
        throw TlsError("cannot set up an SRP connection: " + last_openssl_error());
}

SrpVerifier make_srp_verifier(const std::string& user, const std::string& password) {
    SrpVerifier out;
    const SRP_gN* gn = SRP_get_default_gN(out.group.c_str());
    BIGNUM* salt = nullptr;
    BIGNUM* verifier = nullptr;
    if (!gn || SRP_create_verifier_BN(user.c_str(), password.c_str(), &salt, &verifier, gn->N, gn->g) != 1)
        throw TlsError("cannot make an SRP verifier: " + last_openssl_error());
    BnPtr s(salt, BN_clear_free), v(verifier, BN_clear_free);
    out.salt = bn_bytes(s.get());
    out.verifier = bn_bytes(v.get());
    return out;
}

SslCtxPtr make_srp_client_context(const SrpCredentials& c) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx) throw TlsError("cannot create TLS context: " + last_openssl_error());
    std::string user = c.user, password = c.password;  // OpenSSL copies them, from non-const pointers
    if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx.get(), kSrpCiphers) != 1 ||
        SSL_CTX_set_srp_username(ctx.get(), user.data()) != 1 ||
        SSL_CTX_set_srp_password(ctx.get(), password.data()) != 1)
        throw TlsError("cannot set up an SRP client: " + last_openssl_error());
    OPENSSL_cleanse(password.data(), password.size());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // no server certificate with SRP
    return ctx;
}

}  // namespace xpmn::tls
