// Follows one UPnP device type over the LAN control points of every network
// context: reports each device's arrival and departure (ssdp:byebye or
// expiry, or the interface it was seen on going away) by UDN. A device seen on several interfaces is served through the proxy of
// the first; when that interface goes away, the device is reported gone and,
// if another interface still sees it, available again through that one.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

typedef struct _GUPnPContextManager GUPnPContextManager;
typedef struct _GUPnPControlPoint GUPnPControlPoint;
typedef struct _GUPnPContext GUPnPContext;
typedef struct _GUPnPDeviceProxy GUPnPDeviceProxy;
typedef struct _GSSDPResourceBrowser GSSDPResourceBrowser;
typedef struct _GSSDPClient GSSDPClient;

namespace xpmn::upnp {

class DeviceWatch {
public:
    struct Events {
        // UDN/friendly-name filter; empty: every device.
        std::function<bool(const std::string& udn, const std::string& friendly_name)> selected;
        // The device is usable through `proxy` (false: it is not, e.g. a service is missing).
        std::function<bool(GUPnPDeviceProxy* proxy, const std::string& udn, const std::string& friendly_name)>
            on_available;
        std::function<void(const std::string& udn)> on_unavailable;
    };

    // `what` names the devices in logs ("media server", "renderer").
    DeviceWatch(const char* target, std::string what, Events events);
    ~DeviceWatch();
    DeviceWatch(const DeviceWatch&) = delete;
    DeviceWatch& operator=(const DeviceWatch&) = delete;

    // A control point on `context` (`manager`: gupnp's, or null for our own contexts).
    void add_context(GUPnPContext* context, GUPnPContextManager* manager);
    void remove_context(GUPnPContext* context);
    // Searches again on every interface: an M-SEARCH burst whose answers add
    // the devices not known yet; known devices stay, answering or not.
    void rescan();
    // Stops every signal (before the context manager goes); the references stay until destruction.
    void detach();

private:
    static void on_proxy_available(GUPnPControlPoint*, GUPnPDeviceProxy*, void* self);
    static void on_proxy_unavailable(GUPnPControlPoint*, GUPnPDeviceProxy*, void* self);
    // ssdp:byebye or expiry through `cp` of the device described at `location`:
    // gone from every interface that reached it there (its byebye may arrive
    // through one of them only: libupnp's gmediarender multicasts through the
    // route's interface, not its own), not from one that reaches it elsewhere.
    void left(const std::string& udn, GUPnPControlPoint* cp, const std::string& location);
    // `cp`'s interface went away: the device may still be seen through another.
    void lost(const std::string& udn, GUPnPControlPoint* cp);
    // The rescan's browsers (those on the context `on` only, when given).
    void drop_searches(GSSDPClient* on = nullptr);

    const char* target_;
    std::string what_;
    Events events_;
    std::vector<GUPnPControlPoint*> control_points_;  // one per available context (a reference each)
    // UDN -> control points (contexts) it is seen on, in order: the first serves it.
    std::map<std::string, std::vector<GUPnPControlPoint*>> seen_;
    std::vector<GSSDPResourceBrowser*> searches_;  // the last rescan's browsers, until the next
};

}  // namespace xpmn::upnp
