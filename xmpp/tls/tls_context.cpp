#include "xmpp/tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cctype>

namespace xpmn::tls {

std::string last_openssl_error() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown TLS error" : out;
}

std::string normalize_fingerprint(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c == ':' || c == ' ') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) throw TlsError("fingerprint has a non-hex character");
        hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64) throw TlsError("a SHA-256 fingerprint has 64 hex digits, got " + std::to_string(hex.size()));
    return hex;
}

std::string certificate_sha256(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 15];
    }
    return out;
}

SslCtxPtr make_client_context(const ClientOptions& o) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx) throw TlsError("cannot create TLS context: " + last_openssl_error());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (!o.pinned_sha256.empty()) {
        normalize_fingerprint(o.pinned_sha256);  // validate early
        // The chain is not checked against CAs: the pin is compared after the handshake.
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    } else {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
        if (!o.ca_file.empty()) {
            if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
                throw TlsError("cannot load CA file " + o.ca_file + ": " + last_openssl_error());
        } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
            throw TlsError("cannot load the system CA certificates: " + last_openssl_error());
        }
    }
    if (!o.client_cert.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.client_cert.c_str()) != 1)
            throw TlsError("cannot load client certificate " + o.client_cert + ": " + last_openssl_error());
        const std::string& key = o.client_key.empty() ? o.client_cert : o.client_key;
        if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
            throw TlsError("cannot load client key " + key + ": " + last_openssl_error());
        if (SSL_CTX_check_private_key(ctx.get()) != 1)
            throw TlsError("client key does not match the certificate " + o.client_cert);
    }
    return ctx;
}

}  // namespace xpmn::tls
