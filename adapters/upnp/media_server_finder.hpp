// Finds UPnP MediaServers (device types MediaServer:1..4) and, when asked,
// MediaRenderers (MediaRenderer:1..2) on the configured interfaces: one set
// of network contexts, a DeviceWatch (control points, failover between
// interfaces) per device type, and each device's arrival and departure
// reported by UDN.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/upnp/content_directory.hpp"
#include "adapters/upnp/device_watch.hpp"
#include "adapters/upnp/interface_contexts.hpp"

typedef struct _GUPnPContextManager GUPnPContextManager;
typedef struct _GUPnPControlPoint GUPnPControlPoint;
typedef struct _GUPnPContext GUPnPContext;
typedef struct _GUPnPDeviceProxy GUPnPDeviceProxy;
typedef struct _GUPnPServiceProxy GUPnPServiceProxy;
typedef struct _GSource GSource;

namespace xpmn::upnp {

struct MediaServerInfo {
    std::string udn;
    std::string friendly_name;
    std::string device_type;
    std::string location;  // description URL (logged at debug only; never sent to peers)
    std::shared_ptr<ContentDirectory> directory;
};

// A MediaRenderer with its two services; the proxies are borrowed for the
// call (take a reference to keep them).
struct RendererInfo {
    std::string udn;
    std::string friendly_name;
    std::string location;  // description URL
    std::string local_address;  // the bridge's address on the network the renderer was found on
    GUPnPServiceProxy* av_transport = nullptr;
    GUPnPServiceProxy* rendering_control = nullptr;
};

struct FinderOptions {
    std::vector<std::string> interfaces;  // empty: all
    std::vector<std::string> include;     // UDN or friendly-name glob patterns; empty: all
    std::vector<std::string> exclude;     // UDN or friendly-name glob patterns
    unsigned port = 0;                    // SSDP/GENA port for the contexts; 0: any
    bool renderers = false;               // also MediaRenderers
    // SSDP searches again every this often (0: never), the first time at
    // most kFirstRescan after start: a device whose search answer and
    // announcements were all lost is otherwise unseen until it next
    // announces itself (minidlna: every 15 min; many devices: 30 min).
    std::chrono::seconds rescan_interval{0};
};

// Pure filter rule, exposed for tests: exclude wins over include.
bool server_selected(const FinderOptions& options, const std::string& udn, const std::string& friendly_name);

class MediaServerFinder {
public:
    struct Events {
        std::function<void(const MediaServerInfo&)> on_available;
        std::function<void(const std::string& udn)> on_unavailable;
        std::function<void(const RendererInfo&)> on_renderer_available;
        std::function<void(const std::string& udn)> on_renderer_unavailable;
        // A network context came (devices may be shown there) or is about to go.
        std::function<void(GUPnPContext*)> on_context_available;
        std::function<void(GUPnPContext*)> on_context_unavailable;
    };

    MediaServerFinder(FinderOptions options, Events events);
    ~MediaServerFinder();
    MediaServerFinder(const MediaServerFinder&) = delete;
    MediaServerFinder& operator=(const MediaServerFinder&) = delete;

    void start();

    static constexpr std::chrono::seconds kFirstRescan{10};

private:
    void schedule_rescan(std::chrono::seconds after);
    static int on_rescan(void* self);
    void cancel_rescan();
    static void on_context_available(GUPnPContextManager*, GUPnPContext*, void* self);
    static void on_context_unavailable(GUPnPContextManager*, GUPnPContext*, void* self);
    // Control points on `context` (`manager`: gupnp's, or null for our own contexts).
    void add_context(GUPnPContext* context, GUPnPContextManager* manager);
    void remove_context(GUPnPContext* context);
    bool announce_server(GUPnPDeviceProxy* proxy, const std::string& udn, const std::string& friendly_name);
    bool announce_renderer(GUPnPDeviceProxy* proxy, const std::string& udn, const std::string& friendly_name);

    FinderOptions options_;
    Events events_;
    std::vector<std::unique_ptr<DeviceWatch>> watches_;     // media servers, renderers
    GUPnPContextManager* manager_ = nullptr;                  // all interfaces
    std::unique_ptr<InterfaceContexts> interface_contexts_;   // [upnp] interfaces
    GSource* rescan_source_ = nullptr;                        // pending (a reference), on the thread's context
};

}  // namespace xpmn::upnp
