#include "xmpp/core/random_hex.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace xpmn {

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (bytes && RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
        throw std::runtime_error("the random number generator (OpenSSL RAND_bytes) failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes);
    for (unsigned char b : raw) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    OPENSSL_cleanse(raw.data(), raw.size());
    return out;
}

}  // namespace xpmn
