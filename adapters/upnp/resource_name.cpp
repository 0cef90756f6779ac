#include "adapters/upnp/resource_name.hpp"

#include <openssl/sha.h>

namespace xpmn::upnp {

std::string resource_for_udn(const std::string& prefix, const std::string& udn) {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(udn.data()), udn.size(), md);
    static const char* hex = "0123456789abcdef";
    std::string out = prefix + "-";
    for (int i = 0; i < 4; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

}  // namespace xpmn::upnp
