// The SRP parts of tls_context (TLS-SRP, RFC 5054), kept in one file because
// OpenSSL 3 deprecates its SRP API: see tls_srp.cpp.
#pragma once

#include <openssl/ssl.h>

namespace xpmn::tls {

// A server context answers SRP connections through their ConnectionChecks::srp_lookup.
void enable_srp_server(SSL_CTX* ctx);
// Makes one server connection SRP-only: TLS 1.2, SRP-AES-256-CBC-SHA, no certificates.
void use_srp_server(SSL* ssl);

}  // namespace xpmn::tls
