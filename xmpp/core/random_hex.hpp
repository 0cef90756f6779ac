// Unguessable identifiers: `bytes` bytes from OpenSSL's CSPRNG as 2×bytes
// lowercase hex digits (session ids, tokens in URLs and cookies). Throws
// std::runtime_error when the CSPRNG fails: an id must never be weak.
#pragma once

#include <cstddef>
#include <string>

namespace xpmn {

std::string random_hex(std::size_t bytes);

}  // namespace xpmn
