#include "xmpp/jingle/s5b_addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace xpmn::jingle {

Result<std::vector<std::string>> local_addresses(const std::vector<std::string>& interfaces) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return Error{"internal-server-error", std::string("getifaddrs: ") + std::strerror(errno)};
    std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned(list, freeifaddrs);
    std::vector<std::string> out;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
        bool named = std::find(interfaces.begin(), interfaces.end(), i->ifa_name) != interfaces.end();
        if (interfaces.empty() ? (i->ifa_flags & IFF_LOOPBACK) != 0 : !named) continue;
        char text[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto& a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(&a)) continue;
            inet_ntop(AF_INET6, &a, text, sizeof text);
        } else {
            continue;
        }
        if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
    }
    return out;
}

}  // namespace xpmn::jingle
