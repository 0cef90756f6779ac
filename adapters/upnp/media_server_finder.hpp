// Finds UPnP MediaServers (device types MediaServer:1..4) on the configured
// interfaces with a gupnp control point per network context, and reports
// each server's arrival and departure (ssdp:byebye, expiry, or the network
// interface it was seen on going away) by UDN. A server seen on several
// interfaces is served through the proxy of the first; when that interface
// goes away, the server is reported gone and, if another interface still
// sees it, available again through that one.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/upnp/content_directory.hpp"
#include "adapters/upnp/interface_contexts.hpp"

typedef struct _GUPnPContextManager GUPnPContextManager;
typedef struct _GUPnPControlPoint GUPnPControlPoint;
typedef struct _GUPnPContext GUPnPContext;
typedef struct _GUPnPDeviceProxy GUPnPDeviceProxy;

namespace xpmn::upnp {

struct MediaServerInfo {
    std::string udn;
    std::string friendly_name;
    std::string device_type;
    std::string location;  // description URL (logged at debug only; never sent to peers)
    std::shared_ptr<ContentDirectory> directory;
};

struct FinderOptions {
    std::vector<std::string> interfaces;  // empty: all
    std::vector<std::string> include;     // UDN or friendly-name glob patterns; empty: all
    std::vector<std::string> exclude;     // UDN or friendly-name glob patterns
    unsigned port = 0;                    // SSDP/GENA port for the contexts; 0: any
};

// Pure filter rule, exposed for tests: exclude wins over include.
bool server_selected(const FinderOptions& options, const std::string& udn, const std::string& friendly_name);

class MediaServerFinder {
public:
    struct Events {
        std::function<void(const MediaServerInfo&)> on_available;
        std::function<void(const std::string& udn)> on_unavailable;
    };

    MediaServerFinder(FinderOptions options, Events events);
    ~MediaServerFinder();
    MediaServerFinder(const MediaServerFinder&) = delete;
    MediaServerFinder& operator=(const MediaServerFinder&) = delete;

    void start();

private:
    static void on_context_available(GUPnPContextManager*, GUPnPContext*, void* self);
    static void on_context_unavailable(GUPnPContextManager*, GUPnPContext*, void* self);
    // A control point for MediaServers on `context` (`manager`: gupnp's, or null for our own contexts).
    void add_context(GUPnPContext* context, GUPnPContextManager* manager);
    void remove_context(GUPnPContext* context);
    static void on_proxy_available(GUPnPControlPoint*, GUPnPDeviceProxy*, void* self);
    static void on_proxy_unavailable(GUPnPControlPoint*, GUPnPDeviceProxy*, void* self);
    // The server is no longer seen through `cp`.
    void lost(const std::string& udn, GUPnPControlPoint* cp);
    // Reports the server available through `proxy`; false if it cannot be used.
    bool announce(GUPnPDeviceProxy* proxy, const std::string& udn, const std::string& friendly_name);

    FinderOptions options_;
    Events events_;
    GUPnPContextManager* manager_ = nullptr;                  // all interfaces
    std::unique_ptr<InterfaceContexts> interface_contexts_;   // [upnp] interfaces
    std::vector<GUPnPControlPoint*> control_points_;  // one per available context (a reference each)
    // UDN -> control points (contexts) it is seen on, in order: the first serves it.
    std::map<std::string, std::vector<GUPnPControlPoint*>> seen_;
};

}  // namespace xpmn::upnp
