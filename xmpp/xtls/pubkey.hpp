// The `urn:xmpp:pubkey:0` payload of pairing (wire profile §4.1): after an
// SRP stream is up, each side asks the other with an IQ get carrying an
// empty <pubkeys/> and answers
//   <pubkeys xmlns='urn:xmpp:pubkey:0'><keyinfo><name>Pixel 7</name>
//     <x509cert>BASE64-DER</x509cert></keyinfo></pubkeys>
// The certificate's fingerprint is what the trust stores keep.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::xtls {

inline constexpr const char* kPubkeyNs = "urn:xmpp:pubkey:0";
// Longest <name/> accepted (bytes): it is shown to users and stored.
inline constexpr std::size_t kMaxKeyName = 256;
// Largest certificate accepted (DER bytes); a device certificate is ~500.
inline constexpr std::size_t kMaxCertificateDer = 16 * 1024;
// How long either side waits for the other's answer.
inline constexpr std::chrono::seconds kPubkeyTimeout{15};

struct PubKey {
    std::string name;            // the device's name for humans (may be empty)
    std::shared_ptr<X509> cert;
    std::string fingerprint;     // SHA-256 of the certificate's DER, lowercase hex
};

// The DER encoding of a certificate (empty when it cannot be encoded).
std::string certificate_der(X509* cert);

// The payload of the IQ get: an empty <pubkeys/>.
xml::Element pubkeys_request();
// The answer: our name and certificate.
xml::Element make_pubkeys(std::string_view name, X509* cert);
// The first <keyinfo/> of an answer. bad-request Error when the element is
// not <pubkeys/>, has no <keyinfo/> with an <x509cert/>, the name is too long,
// or the certificate is not base64 of one DER X.509 certificate of at most
// kMaxCertificateDer bytes.
Result<PubKey> parse_pubkeys(const xml::Element& pubkeys);

}  // namespace xpmn::xtls
