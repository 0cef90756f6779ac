// Base64 (RFC 4648 §4, padded) for every payload that carries bytes in XML:
// IBB <data/> (XEP-0047), <x509cert/> (urn:xmpp:pubkey:0), caps hashes.
// Decoding is strict, as XEP-0047 §6 requires: anything outside the
// alphabet and any '=' that is not final padding is refused, never skipped.
// XML whitespace (line breaks as in the XEPs' examples) is allowed.
#pragma once

#include <string>
#include <string_view>

#include "xmpp/core/result.hpp"

namespace xpmn {

std::string base64_encode(std::string_view bytes);
// The bytes, or a bad-request Error whose text says what is wrong and where.
Result<std::string> base64_decode(std::string_view text);

}  // namespace xpmn
