// Test-only TLS material: a self-signed P-256 certificate made in memory, a
// server context that presents it, and a client context pinned to it. Not a
// server role for the daemon (that lives in xmpp/tls/tls_context).
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <string>

#include "xmpp/tls/tls_context.hpp"
#include "xmpp/tls/tls_stream.hpp"

namespace xpmn::test_tls {

struct SelfSigned {
    std::shared_ptr<EVP_PKEY> key;
    std::shared_ptr<X509> cert;
    std::string sha256;
};

inline SelfSigned make_self_signed(const std::string& common_name) {
    SelfSigned out;
    out.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
    out.cert.reset(X509_new(), X509_free);
    if (!out.key || !out.cert) throw std::runtime_error("cannot create a test key or certificate");
    X509* c = out.cert.get();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24);
    X509_NAME* name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(c, name);
    X509_set_pubkey(c, out.key.get());
    if (X509_sign(c, out.key.get(), EVP_sha256()) <= 0) throw std::runtime_error("cannot sign the test certificate");
    out.sha256 = tls::certificate_sha256(c);
    return out;
}

inline tls::SslCtxPtr make_test_server_context(const SelfSigned& id) {
    tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx || SSL_CTX_use_certificate(ctx.get(), id.cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx.get(), id.key.get()) != 1)
        throw std::runtime_error("cannot make the test server context: " + tls::last_openssl_error());
    return ctx;
}

// A client TlsStream that accepts exactly `id`'s certificate.
inline std::shared_ptr<tls::TlsStream> make_pinned_client(net::ByteStreamPtr lower, const SelfSigned& id) {
    tls::ClientOptions o;
    o.server_name = "test.example";
    o.pinned_sha256 = id.sha256;
    return std::make_shared<tls::TlsStream>(std::move(lower), tls::make_client_context(o),
                                            tls::TlsStream::Role::Client, tls::PeerCheck{"test.example", id.sha256});
}

inline std::shared_ptr<tls::TlsStream> make_test_server(net::ByteStreamPtr lower, const SelfSigned& id) {
    return std::make_shared<tls::TlsStream>(std::move(lower), make_test_server_context(id),
                                            tls::TlsStream::Role::Server);
}

}  // namespace xpmn::test_tls
