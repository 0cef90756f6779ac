#include "adapters/upnp/media_server_finder.hpp"

#include "adapters/upnp/lan_control_point.hpp"

#include <fnmatch.h>
#include <libgupnp/gupnp.h>
#include <libsoup/soup.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace xpmn::upnp {

namespace {

const char* const kMediaServer = "urn:schemas-upnp-org:device:MediaServer:1";  // matches :1..:4
const char* const kContentDirectory = "urn:schemas-upnp-org:service:ContentDirectory";

bool matches_any(const std::vector<std::string>& patterns, const std::string& udn, const std::string& name) {
    for (const auto& p : patterns)
        if (fnmatch(p.c_str(), udn.c_str(), 0) == 0 || fnmatch(p.c_str(), name.c_str(), FNM_CASEFOLD) == 0)
            return true;
    return false;
}

std::string take_string(char* s) {
    std::string out = s ? s : "";
    g_free(s);
    return out;
}

}  // namespace

bool server_selected(const FinderOptions& o, const std::string& udn, const std::string& name) {
    if (matches_any(o.exclude, udn, name)) return false;
    return o.include.empty() || matches_any(o.include, udn, name);
}

MediaServerFinder::MediaServerFinder(FinderOptions options, Events events)
    : options_(std::move(options)), events_(std::move(events)) {}

MediaServerFinder::~MediaServerFinder() {
    for (auto* cp : control_points_) g_signal_handlers_disconnect_by_data(cp, this);
    if (manager_) {
        g_signal_handlers_disconnect_by_data(manager_, this);
        g_object_unref(manager_);  // releases the managed control points with it
    }
    for (auto* cp : control_points_) g_object_unref(cp);
    interface_contexts_.reset();  // after the control points: they hold the contexts too
}

void MediaServerFinder::start() {
    if (!options_.interfaces.empty()) {
        // Not gupnp's context filter: it applies only after a context (and
        // its SSDP group membership) exists on every interface.
        interface_contexts_ = std::make_unique<InterfaceContexts>(
            options_.interfaces, options_.port,
            InterfaceContexts::Events{[this](GUPnPContext* c) { add_context(c, nullptr); },
                                      [this](GUPnPContext* c) { remove_context(c); }});
        interface_contexts_->start();
        return;
    }
    manager_ = gupnp_context_manager_create_full(GSSDP_UDA_VERSION_1_0, G_SOCKET_FAMILY_IPV4, options_.port);
    g_signal_connect(manager_, "context-available", G_CALLBACK(&MediaServerFinder::on_context_available), this);
    g_signal_connect(manager_, "context-unavailable", G_CALLBACK(&MediaServerFinder::on_context_unavailable), this);
}

void MediaServerFinder::on_context_available(GUPnPContextManager* manager, GUPnPContext* context, void* data) {
    static_cast<MediaServerFinder*>(data)->add_context(context, manager);
}

void MediaServerFinder::on_context_unavailable(GUPnPContextManager*, GUPnPContext* context, void* data) {
    static_cast<MediaServerFinder*>(data)->remove_context(context);
}

void MediaServerFinder::add_context(GUPnPContext* context, GUPnPContextManager* manager) {
    spdlog::info("upnp: listening on {} ({})", gssdp_client_get_interface(GSSDP_CLIENT(context)),
                 gssdp_client_get_host_ip(GSSDP_CLIENT(context)));
    start_lan_control_point(control_points_, context, manager, kMediaServer,
                            {{"device-proxy-available", G_CALLBACK(&MediaServerFinder::on_proxy_available)},
                             {"device-proxy-unavailable", G_CALLBACK(&MediaServerFinder::on_proxy_unavailable)}},
                            this);
}

void MediaServerFinder::remove_context(GUPnPContext* context) {
    GUPnPControlPoint* cp = stop_lan_control_point(control_points_, context, this);
    if (!cp) return;
    spdlog::info("upnp: interface {} gone", gssdp_client_get_interface(GSSDP_CLIENT(context)));
    std::vector<std::string> udns;
    for (const auto& [udn, cps] : seen_)
        if (std::find(cps.begin(), cps.end(), cp) != cps.end()) udns.push_back(udn);
    for (const auto& udn : udns) lost(udn, cp);
    g_object_unref(cp);
}

bool MediaServerFinder::announce(GUPnPDeviceProxy* proxy, const std::string& udn, const std::string& friendly_name) {
    auto* info = GUPNP_DEVICE_INFO(proxy);
    MediaServerInfo s;
    s.udn = udn;
    s.friendly_name = friendly_name;
    s.device_type = gupnp_device_info_get_device_type(info) ? gupnp_device_info_get_device_type(info) : "";
    s.location = gupnp_device_info_get_location(info) ? gupnp_device_info_get_location(info) : "";
    GUPnPServiceInfo* service = gupnp_device_info_get_service(info, kContentDirectory);
    if (!service) {
        spdlog::warn("upnp: media server '{}' ({}) has no ContentDirectory; ignored", s.friendly_name, s.udn);
        return false;
    }
    s.directory = std::make_shared<ContentDirectory>(GUPNP_SERVICE_PROXY(service));
    g_object_unref(service);
    spdlog::info("upnp: media server '{}' ({}) available", s.friendly_name, s.udn);
    spdlog::debug("upnp: {} described at {}", s.udn, s.location);
    if (events_.on_available) events_.on_available(s);
    return true;
}

void MediaServerFinder::on_proxy_available(GUPnPControlPoint* cp, GUPnPDeviceProxy* proxy, void* data) {
    auto* self = static_cast<MediaServerFinder*>(data);
    auto* info = GUPNP_DEVICE_INFO(proxy);
    std::string udn = gupnp_device_info_get_udn(info) ? gupnp_device_info_get_udn(info) : "";
    std::string name = take_string(gupnp_device_info_get_friendly_name(info));
    if (udn.empty()) {
        const char* location = gupnp_device_info_get_location(info);
        spdlog::warn("upnp: a media server at {} has no UDN; ignored", location ? location : "?");
        return;
    }
    if (name.empty()) name = udn;
    if (!server_selected(self->options_, udn, name)) {
        spdlog::info("upnp: media server '{}' ({}) excluded by configuration", name, udn);
        return;
    }
    auto& cps = self->seen_[udn];
    if (std::find(cps.begin(), cps.end(), cp) != cps.end()) return;
    cps.push_back(cp);
    if (cps.size() > 1) {  // same server on another interface
        spdlog::debug("upnp: {} also seen on {}", udn,
                      gssdp_client_get_interface(GSSDP_CLIENT(gupnp_control_point_get_context(cp))));
        return;
    }
    if (!self->announce(proxy, udn, name)) self->seen_.erase(udn);
}

void MediaServerFinder::on_proxy_unavailable(GUPnPControlPoint* cp, GUPnPDeviceProxy* proxy, void* data) {
    const char* udn = gupnp_device_info_get_udn(GUPNP_DEVICE_INFO(proxy));
    if (udn) static_cast<MediaServerFinder*>(data)->lost(udn, cp);
}

void MediaServerFinder::lost(const std::string& udn, GUPnPControlPoint* cp) {
    auto it = seen_.find(udn);
    if (it == seen_.end()) return;
    auto& cps = it->second;
    auto where = std::find(cps.begin(), cps.end(), cp);
    if (where == cps.end()) return;
    bool serving = where == cps.begin();
    cps.erase(where);
    if (!serving) return;
    spdlog::info("upnp: media server {} gone", udn);
    if (events_.on_unavailable) events_.on_unavailable(udn);
    // Still seen elsewhere: available again, through that interface.
    while (!cps.empty()) {
        GUPnPDeviceProxy* other = nullptr;
        for (const GList* l = gupnp_control_point_list_device_proxies(cps.front()); l && !other; l = l->next) {
            const char* u = gupnp_device_info_get_udn(GUPNP_DEVICE_INFO(l->data));
            if (u && udn == u) other = GUPNP_DEVICE_PROXY(l->data);
        }
        if (other) {
            std::string name = take_string(gupnp_device_info_get_friendly_name(GUPNP_DEVICE_INFO(other)));
            if (announce(other, udn, name.empty() ? udn : name)) return;
        }
        cps.erase(cps.begin());
    }
    seen_.erase(udn);
}

}  // namespace xpmn::upnp
