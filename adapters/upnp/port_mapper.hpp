// The home router's port mappings for S5B `assisted` candidates ([transfer]
// port_mapping, issue 9): a gupnp 1.6 control point for the UPnP-IGD
// WANIPConnection service (v1 and v2) on each of the bridge's interfaces
// ([transfer] interfaces; empty: all of them). map() asks the router found
// on the LAN of the listener's address for its external address
// (GetExternalIPAddress), then AddPortMapping (TCP, external port = the
// listener's port, another one on ConflictInMappingEntry, a lease as a
// safety net). The handle it gives back removes the mapping
// (DeletePortMapping) when released. No router, a refusal or an error: no
// mapping; the caller bounds the wait (S5bOptions::map_timeout).
//
// Its own control point, not Debian's gupnp-igd: that library links gupnp
// 1.2, which must not share a process with the 1.6 the adapter uses.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/upnp/interface_contexts.hpp"
#include "xmpp/jingle/port_mapping.hpp"

typedef struct _GUPnPContextManager GUPnPContextManager;
typedef struct _GUPnPControlPoint GUPnPControlPoint;
typedef struct _GUPnPContext GUPnPContext;
typedef struct _GUPnPServiceProxy GUPnPServiceProxy;

namespace xpmn::upnp {

class PortMapper : public std::enable_shared_from_this<PortMapper> {
public:
    static constexpr unsigned kLeaseSeconds = 3600;  // a mapping never released (crash) expires
    static constexpr const char* kDescription = "xpmn-bridge S5B";

    static std::shared_ptr<PortMapper> create(std::vector<std::string> interfaces);
    ~PortMapper();
    PortMapper(const PortMapper&) = delete;
    PortMapper& operator=(const PortMapper&) = delete;

    void start();
    // jingle::MapPort: `done` once, from the GLib loop or at once (no router).
    void map(const std::string& internal_address, std::uint16_t internal_port, jingle::PortMapped done);
    // As S5bOptions::map_port wants it, holding the mapper weakly.
    jingle::MapPort map_port();

private:
    explicit PortMapper(std::vector<std::string> interfaces) : interfaces_(std::move(interfaces)) {}
    void add_context(GUPnPContext* context, GUPnPContextManager* manager);
    void remove_context(GUPnPContext* context);
    static void on_service_available(GUPnPControlPoint*, GUPnPServiceProxy*, void* self);
    static void on_service_unavailable(GUPnPControlPoint*, GUPnPServiceProxy*, void* self);

    std::vector<std::string> interfaces_;
    GUPnPContextManager* manager_ = nullptr;
    std::unique_ptr<InterfaceContexts> interface_contexts_;
    std::vector<GUPnPControlPoint*> control_points_;
    // By the LAN address of the context it was found on: the router's
    // WANIPConnection (a reference each; the first found serves).
    std::map<std::string, GUPnPServiceProxy*> routers_;
};

}  // namespace xpmn::upnp
