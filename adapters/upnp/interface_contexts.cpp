#include "adapters/upnp/interface_contexts.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <libgupnp/gupnp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib-unix.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace xpmn::upnp {

namespace {

// interface name -> its first IPv4 address, for interfaces that are up.
std::map<std::string, std::string> ipv4_addresses() {
    std::map<std::string, std::string> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) {
        spdlog::warn("upnp: cannot list network interfaces: {}", std::strerror(errno));
        return out;
    }
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !(a->ifa_flags & IFF_UP)) continue;
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
        out.emplace(a->ifa_name, text);
    }
    freeifaddrs(list);
    return out;
}

int open_netlink() {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) return -1;
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

InterfaceContexts::InterfaceContexts(std::vector<std::string> interfaces, unsigned port, Events events)
    : interfaces_(std::move(interfaces)), port_(port), events_(std::move(events)) {}

InterfaceContexts::~InterfaceContexts() {
    if (source_) {
        g_source_destroy(source_);
        g_source_unref(source_);
    }
    if (netlink_fd_ >= 0) close(netlink_fd_);
    for (auto& [name, c] : contexts_)
        if (c.context) g_object_unref(c.context);
}

void InterfaceContexts::start() {
    netlink_fd_ = open_netlink();
    if (netlink_fd_ < 0) {
        spdlog::warn("upnp: no interface events ({}); interfaces are looked up once", std::strerror(errno));
    } else {
        source_ = g_unix_fd_source_new(netlink_fd_, G_IO_IN);
        g_source_set_callback(source_, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(&on_netlink)), this,
                              nullptr);
        g_source_attach(source_, g_main_context_get_thread_default());
    }
    reconcile();
    for (const auto& name : interfaces_)
        if (!contexts_.count(name))
            spdlog::warn("upnp: interface {} has no IPv4 address (yet); listening there once it has one", name);
}

int InterfaceContexts::on_netlink(int fd, unsigned, void* data) {
    // The messages only say "something changed"; the interface list is read afresh.
    char buf[8192];
    while (recv(fd, buf, sizeof buf, 0) > 0) {
    }
    static_cast<InterfaceContexts*>(data)->reconcile();
    return G_SOURCE_CONTINUE;
}

void InterfaceContexts::drop(const std::string& interface) {
    auto it = contexts_.find(interface);
    if (it == contexts_.end()) return;
    GUPnPContext* context = it->second.context;
    contexts_.erase(it);
    if (events_.on_unavailable) events_.on_unavailable(context);
    g_object_unref(context);
}

void InterfaceContexts::reconcile() {
    auto addresses = ipv4_addresses();
    for (const auto& name : interfaces_) {
        auto found = addresses.find(name);
        auto have = contexts_.find(name);
        if (have != contexts_.end() && (found == addresses.end() || found->second != have->second.address))
            drop(name);
        if (found == addresses.end() || contexts_.count(name)) continue;
        GInetAddress* address = g_inet_address_new_from_string(found->second.c_str());
        GError* error = nullptr;
        GUPnPContext* context =
            gupnp_context_new_full(name.c_str(), address, port_, GSSDP_UDA_VERSION_1_0, &error);
        g_object_unref(address);
        if (!context) {
            spdlog::warn("upnp: cannot listen on {} ({}): {}", name, found->second,
                         error ? error->message : "unknown error");
            if (error) g_error_free(error);
            continue;
        }
        contexts_[name] = Context{found->second, context};
        if (events_.on_available) events_.on_available(context);
    }
}

}  // namespace xpmn::upnp
