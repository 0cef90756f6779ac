// OpenSSL contexts and per-connection checks for the TLS layer, in both
// roles. Client (c2s, and the initiator of an end-to-end stream): verify the
// server against system CAs, a CA file, or a pinned SHA-256 fingerprint;
// optionally present a certificate (SASL EXTERNAL, XTLS x509). Server (the
// responder of an end-to-end stream): present a certificate and request the
// client's. How a peer certificate is judged is a PeerVerifier, chosen per
// connection (tls::PeerCheck), so a trust store plugs in as a function.
// SRP (XTLS pairing) is per connection too: see tls_srp.cpp.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace xpmn::tls {

struct TlsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A certificate with its private key.
struct Identity {
    std::shared_ptr<X509> cert;
    std::shared_ptr<EVP_PKEY> key;
    explicit operator bool() const { return cert && key; }
};
// PEM files; `key_file` empty: the key is in `cert_file`. Throws TlsError.
Identity load_identity(const std::string& cert_file, const std::string& key_file);

struct ClientOptions {
    std::string server_name;      // SNI and the name the certificate must carry
    std::string ca_file;          // empty: system CAs
    std::string pinned_sha256;    // hex, colons allowed; set: only that certificate is accepted
    std::string client_cert;      // PEM file (SASL EXTERNAL)
    std::string client_key;       // PEM file
    Identity identity;            // presented instead of client_cert/client_key when set
};

struct ServerOptions {
    Identity identity;                 // presented to clients (not needed for SRP connections)
    bool require_client_cert = true;   // request the client's certificate; no certificate, no handshake
};

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// One client context serves any number of connections (one per device
// session): what differs per connection is in PeerCheck.
SslCtxPtr make_client_context(const ClientOptions& options);
SslCtxPtr make_server_context(const ServerOptions& options);

// The peer's certificate as the verifier sees it, during the handshake.
struct PeerCertificate {
    X509* leaf = nullptr;
    std::string sha256;      // of its DER, lowercase hex
    long chain_error = 0;    // X509_V_OK when it chains to the context's CAs and carries the host name asked for
};
// Empty: accepted; else why not (the handshake then fails with that reason).
using PeerVerifier = std::function<std::string(const PeerCertificate&)>;

// CA chain and host name (the c2s default).
PeerVerifier verify_chain();
// Exactly this certificate: a configured pin, or the fingerprint a peer
// announced (XTLS x509); `what` names it in errors. Throws TlsError on a bad fingerprint.
PeerVerifier verify_fingerprint(std::string sha256, std::string what = "pinned");
// Whatever `trusted` accepts by fingerprint (a trust store); `what` names it in errors.
PeerVerifier verify_trusted(std::function<bool(const std::string& sha256)> trusted, std::string what);

// SRP (RFC 5054) for pairing: the client knows user and password, the
// server only a verifier per user.
struct SrpCredentials {
    std::string user;
    std::string password;  // never logged
};
struct SrpVerifier {
    std::string group = "3072";  // RFC 5054 group (its size in bits)
    std::string salt;            // big-endian bytes
    std::string verifier;        // big-endian bytes
};
using SrpLookup = std::function<std::optional<SrpVerifier>(const std::string& user)>;

SrpVerifier make_srp_verifier(const std::string& user, const std::string& password);
// A context for one SRP client connection: OpenSSL takes the SRP user name
// from the context when the connection is made, so each gets its own.
SslCtxPtr make_srp_client_context(const SrpCredentials& credentials);

// What one connection's checks need inside OpenSSL's callbacks; kept by the
// TlsStream, reachable from its SSL object.
struct ConnectionChecks {
    PeerVerifier verify;
    SrpLookup srp_lookup;    // server: this is an SRP connection
    std::string rejected;    // why the verifier or the SRP lookup refused
    long first_chain_error = 0;  // X509_V_OK
    bool leaf_checked = false;
};
// Hooks `checks` into `ssl`: the peer certificate goes through checks->verify
// (kept verification mode), and a server with srp_lookup becomes an SRP-only
// connection. `checks` must outlive `ssl`.
void attach_checks(SSL* ssl, ConnectionChecks* checks);
ConnectionChecks* checks_of(SSL* ssl);

// Normalises a fingerprint to lowercase hex without separators; throws TlsError when it is not 64 hex digits.
std::string normalize_fingerprint(std::string_view text);
// SHA-256 of the certificate's DER, lowercase hex.
std::string certificate_sha256(X509* cert);
// The text of the last OpenSSL errors on this thread (and clears them).
std::string last_openssl_error();

}  // namespace xpmn::tls
