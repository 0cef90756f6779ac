// OpenSSL contexts for the TLS layer. c2s: verify the server against system
// CAs, a CA file, or a pinned SHA-256 certificate fingerprint; optionally
// present a client certificate (SASL EXTERNAL). XTLS contexts come later.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace xpmn::tls {

struct TlsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ClientOptions {
    std::string server_name;      // SNI and the name the certificate must carry
    std::string ca_file;          // empty: system CAs
    std::string pinned_sha256;    // hex, colons allowed; set: only that certificate is accepted
    std::string client_cert;      // PEM file (SASL EXTERNAL)
    std::string client_key;       // PEM file
};

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

SslCtxPtr make_client_context(const ClientOptions& options);

// Normalises a fingerprint to lowercase hex without separators; throws TlsError when it is not 64 hex digits.
std::string normalize_fingerprint(std::string_view text);
// SHA-256 of the certificate's DER, lowercase hex.
std::string certificate_sha256(X509* cert);
// The text of the last OpenSSL errors on this thread (and clears them).
std::string last_openssl_error();

}  // namespace xpmn::tls
