// The device identity of one installation (wire profile §3.2): an ECDSA
// P-256 key and a self-signed X.509 certificate, made on first start and
// kept in the state directory as identity.key and identity.crt (PEM, mode
// 0600, each written atomically). Every device resource of a bridge presents
// it in XTLS x509; a controller keeps its own in its own state directory.
//
// Peers trust the certificate's SHA-256 fingerprint, so the files are never
// replaced behind their back: a file that is missing while the other exists,
// unreadable, corrupt, or a key that does not match the certificate is an
// IdentityError saying what to do, never a silently new identity.
//
// Certificate profile: X.509 v3, random positive 127-bit serial, subject and
// issuer CN = BARE, valid from an hour before creation until 9999-12-31
// (RFC 5280 §4.1.2.5: no expiry; the fingerprint is what peers check),
// basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
// serverAuth + clientAuth (both TLS roles), subjectAltName otherName
// id-on-xmppAddr (1.3.6.1.5.5.7.8.5, RFC 6120 §13.7.1.4) UTF8String = BARE,
// signed with ECDSA SHA-256.
#pragma once

#include <openssl/x509.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "xmpp/core/jid.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::xtls {

struct IdentityError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline constexpr const char* kIdentityKeyFile = "identity.key";
inline constexpr const char* kIdentityCertFile = "identity.crt";

struct DeviceIdentity {
    tls::Identity identity;
    std::string fingerprint;  // SHA-256 of the certificate's DER, lowercase hex
    bool created = false;     // made by this call (first start)
};

// Loads state_dir/identity.{key,crt}, or makes them when neither exists
// (state_dir too, mode 0700, when missing). Throws IdentityError.
DeviceIdentity load_or_create(const std::string& state_dir, const Jid& bare_jid);

// A new key and certificate for `bare_jid` (its bare part), in memory.
tls::Identity make_device_identity(const Jid& bare_jid);

// The subjectAltName id-on-xmppAddr values of a certificate (empty: none).
std::vector<std::string> xmpp_addresses(X509* cert);

}  // namespace xpmn::xtls
