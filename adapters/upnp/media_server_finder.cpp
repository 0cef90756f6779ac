#include "adapters/upnp/media_server_finder.hpp"

#include <fnmatch.h>
#include <libgupnp/gupnp.h>
#include <spdlog/spdlog.h>

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
    if (manager_) {
        g_signal_handlers_disconnect_by_data(manager_, this);
        for (auto* cp : control_points_) g_signal_handlers_disconnect_by_data(cp, this);
        g_object_unref(manager_);  // releases the managed control points with it
    }
    for (auto* cp : control_points_) g_object_unref(cp);
}

void MediaServerFinder::start() {
    manager_ = gupnp_context_manager_create_full(GSSDP_UDA_VERSION_1_0, G_SOCKET_FAMILY_IPV4, options_.port);
    if (!options_.interfaces.empty()) {
        GUPnPContextFilter* filter = gupnp_context_manager_get_context_filter(manager_);
        for (const auto& i : options_.interfaces) gupnp_context_filter_add_entry(filter, i.c_str());
        gupnp_context_filter_set_enabled(filter, TRUE);
    }
    g_signal_connect(manager_, "context-available", G_CALLBACK(&MediaServerFinder::on_context_available), this);
    g_main_context_wakeup(nullptr);
}

void MediaServerFinder::on_context_available(GUPnPContextManager* manager, GUPnPContext* context, void* data) {
    auto* self = static_cast<MediaServerFinder*>(data);
    spdlog::info("upnp: listening on {} ({})", gssdp_client_get_interface(GSSDP_CLIENT(context)),
                 gssdp_client_get_host_ip(GSSDP_CLIENT(context)));
    GUPnPControlPoint* cp = gupnp_control_point_new(context, kMediaServer);
    g_signal_connect(cp, "device-proxy-available", G_CALLBACK(&MediaServerFinder::on_proxy_available), self);
    g_signal_connect(cp, "device-proxy-unavailable", G_CALLBACK(&MediaServerFinder::on_proxy_unavailable), self);
    gssdp_resource_browser_set_active(GSSDP_RESOURCE_BROWSER(cp), TRUE);
    gupnp_context_manager_manage_control_point(manager, cp);
    self->control_points_.push_back(cp);
}

void MediaServerFinder::on_proxy_available(GUPnPControlPoint*, GUPnPDeviceProxy* proxy, void* data) {
    auto* self = static_cast<MediaServerFinder*>(data);
    auto* info = GUPNP_DEVICE_INFO(proxy);
    MediaServerInfo s;
    s.udn = gupnp_device_info_get_udn(info) ? gupnp_device_info_get_udn(info) : "";
    s.friendly_name = take_string(gupnp_device_info_get_friendly_name(info));
    s.device_type = gupnp_device_info_get_device_type(info) ? gupnp_device_info_get_device_type(info) : "";
    s.location = gupnp_device_info_get_location(info) ? gupnp_device_info_get_location(info) : "";
    if (s.udn.empty()) {
        spdlog::warn("upnp: a media server at {} has no UDN; ignored", s.location);
        return;
    }
    if (s.friendly_name.empty()) s.friendly_name = s.udn;
    if (!server_selected(self->options_, s.udn, s.friendly_name)) {
        spdlog::info("upnp: media server '{}' ({}) excluded by configuration", s.friendly_name, s.udn);
        return;
    }
    if (self->seen_[s.udn]++ > 0) return;  // same server on another interface
    GUPnPServiceInfo* service = gupnp_device_info_get_service(info, kContentDirectory);
    if (!service) {
        spdlog::warn("upnp: media server '{}' ({}) has no ContentDirectory; ignored", s.friendly_name, s.udn);
        self->seen_.erase(s.udn);
        return;
    }
    s.directory = std::make_shared<ContentDirectory>(GUPNP_SERVICE_PROXY(service));
    g_object_unref(service);
    spdlog::info("upnp: media server '{}' ({}) available", s.friendly_name, s.udn);
    spdlog::debug("upnp: {} described at {}", s.udn, s.location);
    if (self->events_.on_available) self->events_.on_available(s);
}

void MediaServerFinder::on_proxy_unavailable(GUPnPControlPoint*, GUPnPDeviceProxy* proxy, void* data) {
    auto* self = static_cast<MediaServerFinder*>(data);
    const char* udn_c = gupnp_device_info_get_udn(GUPNP_DEVICE_INFO(proxy));
    std::string udn = udn_c ? udn_c : "";
    auto it = self->seen_.find(udn);
    if (it == self->seen_.end()) return;
    if (--it->second > 0) return;
    self->seen_.erase(it);
    spdlog::info("upnp: media server {} gone", udn);
    if (self->events_.on_unavailable) self->events_.on_unavailable(udn);
}

}  // namespace xpmn::upnp
