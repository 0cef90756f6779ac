// Strict base64 (RFC 4648 §4) for IBB data: XEP-0047 §6 requires rejecting,
// not skipping, anything outside the alphabet and any '=' that is not final
// padding. XML whitespace (line breaks as in the XEP's examples) is allowed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xpmn::jingle {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace xpmn::jingle
