#include "adapters/upnp/resource_name.hpp"

#include <openssl/sha.h>

namespace xpmn::upnp {

std::string sha1_hex(const std::string& text) {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char b : md) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

std::string resource_for_udn(const std::string& prefix, const std::string& udn) {
    return prefix + "-" + sha1_hex(udn).substr(0, 8);
}

}  // namespace xpmn::upnp
