#include "adapters/upnp/device_watch.hpp"

#include <libgupnp/gupnp.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/upnp/lan_control_point.hpp"

namespace xpmn::upnp {

namespace {

std::string take_string(char* s) {
    std::string out = s ? s : "";
    g_free(s);
    return out;
}

std::string friendly_name(GUPnPDeviceProxy* proxy, const std::string& udn) {
    std::string name = take_string(gupnp_device_info_get_friendly_name(GUPNP_DEVICE_INFO(proxy)));
    return name.empty() ? udn : name;
}

}  // namespace

DeviceWatch::DeviceWatch(const char* target, std::string what, Events events)
    : target_(target), what_(std::move(what)), events_(std::move(events)) {}

DeviceWatch::~DeviceWatch() {
    drop_searches();
    detach();
    for (auto* cp : control_points_) g_object_unref(cp);
}

void DeviceWatch::detach() {
    for (auto* cp : control_points_) g_signal_handlers_disconnect_by_data(cp, this);
}

void DeviceWatch::add_context(GUPnPContext* context, GUPnPContextManager* manager) {
    start_lan_control_point(control_points_, context, manager, target_,
                            {{"device-proxy-available", G_CALLBACK(&DeviceWatch::on_proxy_available)},
                             {"device-proxy-unavailable", G_CALLBACK(&DeviceWatch::on_proxy_unavailable)}},
                            this);
}

void DeviceWatch::remove_context(GUPnPContext* context) {
    GUPnPControlPoint* cp = stop_lan_control_point(control_points_, context, this);
    if (!cp) return;
    drop_searches(GSSDP_CLIENT(context));  // it holds the context
    std::vector<std::string> udns;
    for (const auto& [udn, cps] : seen_)
        if (std::find(cps.begin(), cps.end(), cp) != cps.end()) udns.push_back(udn);
    for (const auto& udn : udns) lost(udn, cp);
    g_object_unref(cp);
}

// Not gssdp_resource_browser_rescan() on the control points: it also drops
// every known device that does not answer within 5 s, which would take a
// device that only announces itself (or one whose answer is lost) off the
// network. A browser of its own sends the search instead: gssdp hands each
// answer to every browser of the context whose target matches, so the control
// point's browser adds what it did not know and refreshes the rest.
void DeviceWatch::rescan() {
    drop_searches();
    for (auto* cp : control_points_) {
        GSSDPResourceBrowser* search =
            gssdp_resource_browser_new(GSSDP_CLIENT(gupnp_control_point_get_context(cp)), target_);
        gssdp_resource_browser_set_active(search, TRUE);  // 3 M-SEARCHs, 0.5 s apart
        searches_.push_back(search);
    }
}

void DeviceWatch::drop_searches(GSSDPClient* on) {
    std::erase_if(searches_, [on](GSSDPResourceBrowser* search) {
        if (on && gssdp_resource_browser_get_client(search) != on) return false;
        g_object_unref(search);
        return true;
    });
}

void DeviceWatch::on_proxy_available(GUPnPControlPoint* cp, GUPnPDeviceProxy* proxy, void* data) {
    auto* self = static_cast<DeviceWatch*>(data);
    auto* info = GUPNP_DEVICE_INFO(proxy);
    std::string udn = gupnp_device_info_get_udn(info) ? gupnp_device_info_get_udn(info) : "";
    if (udn.empty()) {
        const char* location = gupnp_device_info_get_location(info);
        spdlog::warn("upnp: a {} at {} has no UDN; ignored", self->what_, location ? location : "?");
        return;
    }
    std::string name = friendly_name(proxy, udn);
    if (self->events_.selected && !self->events_.selected(udn, name)) {
        spdlog::info("upnp: {} '{}' ({}) excluded by configuration", self->what_, name, udn);
        return;
    }
    auto& cps = self->seen_[udn];
    if (std::find(cps.begin(), cps.end(), cp) != cps.end()) return;
    cps.push_back(cp);
    if (cps.size() > 1) {  // same device on another interface
        spdlog::debug("upnp: {} also seen on {}", udn,
                      gssdp_client_get_interface(GSSDP_CLIENT(gupnp_control_point_get_context(cp))));
        return;
    }
    if (!self->events_.on_available(proxy, udn, name)) self->seen_.erase(udn);
}

void DeviceWatch::on_proxy_unavailable(GUPnPControlPoint* cp, GUPnPDeviceProxy* proxy, void* data) {
    auto* info = GUPNP_DEVICE_INFO(proxy);
    const char* udn = gupnp_device_info_get_udn(info);
    const char* location = gupnp_device_info_get_location(info);
    if (udn) static_cast<DeviceWatch*>(data)->left(udn, cp, location ? location : "");
}

namespace {

// Where `cp` reaches the device `udn` ("" when it does not know it).
std::string location_through(GUPnPControlPoint* cp, const std::string& udn) {
    for (const GList* l = gupnp_control_point_list_device_proxies(cp); l; l = l->next) {
        auto* info = GUPNP_DEVICE_INFO(l->data);
        const char* u = gupnp_device_info_get_udn(info);
        const char* location = gupnp_device_info_get_location(info);
        if (u && udn == u && location) return location;
    }
    return {};
}

}  // namespace

void DeviceWatch::left(const std::string& udn, GUPnPControlPoint* cp, const std::string& location) {
    auto it = seen_.find(udn);
    if (it == seen_.end() || std::find(it->second.begin(), it->second.end(), cp) == it->second.end()) return;
    // The same endpoint reached through other interfaces is gone too, even if
    // they heard no byebye; one reached at another address is not.
    std::vector<GUPnPControlPoint*> gone;
    for (auto* other : it->second)
        if (other == cp || (!location.empty() && location_through(other, udn) == location)) gone.push_back(other);
    GUPnPControlPoint* serving = it->second.front();
    for (auto* other : gone)  // the serving one last: its loss reports the device gone and fails over
        if (other != serving) lost(udn, other);
    if (std::find(gone.begin(), gone.end(), serving) != gone.end()) lost(udn, serving);
}

void DeviceWatch::lost(const std::string& udn, GUPnPControlPoint* cp) {
    auto it = seen_.find(udn);
    if (it == seen_.end()) return;
    auto& cps = it->second;
    auto where = std::find(cps.begin(), cps.end(), cp);
    if (where == cps.end()) return;
    bool serving = where == cps.begin();
    cps.erase(where);
    if (!serving) return;
    spdlog::info("upnp: {} {} gone", what_, udn);
    if (events_.on_unavailable) events_.on_unavailable(udn);
    // Still seen elsewhere: available again, through that interface.
    while (!cps.empty()) {
        GUPnPDeviceProxy* other = nullptr;
        for (const GList* l = gupnp_control_point_list_device_proxies(cps.front()); l && !other; l = l->next) {
            const char* u = gupnp_device_info_get_udn(GUPNP_DEVICE_INFO(l->data));
            if (u && udn == u) other = GUPNP_DEVICE_PROXY(l->data);
        }
        if (other && events_.on_available(other, udn, friendly_name(other, udn))) return;
        cps.erase(cps.begin());
    }
    seen_.erase(udn);
}

}  // namespace xpmn::upnp
