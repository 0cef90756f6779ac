// gupnp network contexts for a fixed list of interfaces ([upnp] interfaces).
// gupnp's context manager opens a context on *every* interface (binds the
// SSDP port and joins the multicast group there) and applies its filter only
// afterwards, so a configured list would still announce the bridge's group
// membership on every network the machine is on. Here a context exists only
// for a listed interface, while that interface is up with an IPv4 address;
// the kernel's address and link events (rtnetlink, read on the GLib loop)
// say when to look again, so interfaces may come and go.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

typedef struct _GUPnPContext GUPnPContext;
typedef struct _GSource GSource;

namespace xpmn::upnp {

class InterfaceContexts {
public:
    struct Events {
        std::function<void(GUPnPContext*)> on_available;
        std::function<void(GUPnPContext*)> on_unavailable;  // called before the context is released
    };

    InterfaceContexts(std::vector<std::string> interfaces, unsigned port, Events events);
    ~InterfaceContexts();
    InterfaceContexts(const InterfaceContexts&) = delete;
    InterfaceContexts& operator=(const InterfaceContexts&) = delete;

    void start();

private:
    struct Context {
        std::string address;
        GUPnPContext* context = nullptr;
    };
    // Brings the contexts in line with the interfaces' current IPv4 addresses.
    void reconcile();
    void drop(const std::string& interface);
    static int on_netlink(int fd, unsigned condition, void* self);

    std::vector<std::string> interfaces_;
    unsigned port_;
    Events events_;
    std::map<std::string, Context> contexts_;
    int netlink_fd_ = -1;
    GSource* source_ = nullptr;
};

}  // namespace xpmn::upnp
