#include "adapters/upnp/media_server_finder.hpp"

#include <fnmatch.h>
#include <libgupnp/gupnp.h>
#include <libsoup/soup.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "adapters/upnp/lan_export_description.hpp"

namespace xpmn::upnp {

namespace {

const char* const kMediaServer = "urn:schemas-upnp-org:device:MediaServer:1";  // matches :1..:4
const char* const kContentDirectory = "urn:schemas-upnp-org:service:ContentDirectory";
const char* const kMediaRenderer = "urn:schemas-upnp-org:device:MediaRenderer:1";  // matches :1..:2
const char* const kAVTransport = "urn:schemas-upnp-org:service:AVTransport";       // :1 or :2
const char* const kRenderingControl = "urn:schemas-upnp-org:service:RenderingControl";

bool matches_any(const std::vector<std::string>& patterns, const std::string& udn, const std::string& name) {
    for (const auto& p : patterns)
        if (fnmatch(p.c_str(), udn.c_str(), 0) == 0 || fnmatch(p.c_str(), name.c_str(), FNM_CASEFOLD) == 0)
            return true;
    return false;
}

}  // namespace

bool server_selected(const FinderOptions& o, const std::string& udn, const std::string& name) {
    if (matches_any(o.exclude, udn, name)) return false;
    return o.include.empty() || matches_any(o.include, udn, name);
}

MediaServerFinder::MediaServerFinder(FinderOptions options, Events events)
    : options_(std::move(options)), events_(std::move(events)) {
    using Announce = bool (MediaServerFinder::*)(GUPnPDeviceProxy*, const std::string&, const std::string&);
    auto watch = [this](const char* target, const char* what, Announce announce,
                        std::function<void(const std::string&)> gone) {
        watches_.push_back(std::make_unique<DeviceWatch>(
            target, what,
            DeviceWatch::Events{[this](const std::string& udn, const std::string& name) {
                                    return server_selected(options_, udn, name);
                                },
                                [this, announce](GUPnPDeviceProxy* p, const std::string& udn,
                                                 const std::string& name) { return (this->*announce)(p, udn, name); },
                                [gone](const std::string& udn) {
                                    if (gone) gone(udn);
                                }}));
    };
    watch(kMediaServer, "media server", &MediaServerFinder::announce_server, events_.on_unavailable);
    if (options_.renderers)
        watch(kMediaRenderer, "renderer", &MediaServerFinder::announce_renderer, events_.on_renderer_unavailable);
}

MediaServerFinder::~MediaServerFinder() {
    cancel_rescan();
    for (auto& w : watches_) w->detach();
    if (manager_) {
        g_signal_handlers_disconnect_by_data(manager_, this);
        g_object_unref(manager_);  // releases the managed control points with it
    }
    watches_.clear();             // our references to the control points
    interface_contexts_.reset();  // after the control points: they hold the contexts too
}

void MediaServerFinder::start() {
    if (options_.rescan_interval.count() > 0) schedule_rescan(std::min(kFirstRescan, options_.rescan_interval));
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

// On the thread's default context, where gupnp's own sources run (the
// daemon's GLib integration pushes its context there).
void MediaServerFinder::schedule_rescan(std::chrono::seconds after) {
    cancel_rescan();
    rescan_source_ = g_timeout_source_new_seconds(static_cast<guint>(after.count()));
    g_source_set_callback(rescan_source_, &MediaServerFinder::on_rescan, this, nullptr);
    g_source_attach(rescan_source_, g_main_context_get_thread_default());
}

void MediaServerFinder::cancel_rescan() {
    if (!rescan_source_) return;
    g_source_destroy(rescan_source_);
    g_source_unref(std::exchange(rescan_source_, nullptr));
}

int MediaServerFinder::on_rescan(void* data) {
    auto* self = static_cast<MediaServerFinder*>(data);
    g_source_unref(std::exchange(self->rescan_source_, nullptr));  // removed by returning G_SOURCE_REMOVE
    spdlog::debug("upnp: searching again");
    for (auto& w : self->watches_) w->rescan();
    self->schedule_rescan(self->options_.rescan_interval);
    return G_SOURCE_REMOVE;
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
    for (auto& w : watches_) w->add_context(context, manager);
    if (events_.on_context_available) events_.on_context_available(context);
}

void MediaServerFinder::remove_context(GUPnPContext* context) {
    spdlog::info("upnp: interface {} gone", gssdp_client_get_interface(GSSDP_CLIENT(context)));
    if (events_.on_context_unavailable) events_.on_context_unavailable(context);
    for (auto& w : watches_) w->remove_context(context);
}

bool MediaServerFinder::announce_server(GUPnPDeviceProxy* proxy, const std::string& udn,
                                        const std::string& friendly_name) {
    auto* info = GUPNP_DEVICE_INFO(proxy);
    char* model = gupnp_device_info_get_model_name(info);
    const bool exported = model && std::string(model) == kExportModelName;
    g_free(model);
    if (exported) {  // shown from another home by a bridge: never shown again (no loop between bridges)
        spdlog::info("upnp: '{}' ({}) is an xpmn-bridge export; ignored", friendly_name, udn);
        return false;
    }
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

bool MediaServerFinder::announce_renderer(GUPnPDeviceProxy* proxy, const std::string& udn,
                                          const std::string& friendly_name) {
    auto* info = GUPNP_DEVICE_INFO(proxy);
    GUPnPServiceInfo* transport = gupnp_device_info_get_service(info, kAVTransport);
    GUPnPServiceInfo* rendering = gupnp_device_info_get_service(info, kRenderingControl);
    bool usable = transport && rendering;
    if (!usable) {
        spdlog::warn("upnp: renderer '{}' ({}) lacks AVTransport or RenderingControl; ignored", friendly_name, udn);
    } else {
        RendererInfo r;
        r.udn = udn;
        r.friendly_name = friendly_name;
        r.location = gupnp_device_info_get_location(info) ? gupnp_device_info_get_location(info) : "";
        if (const char* ip = gssdp_client_get_host_ip(GSSDP_CLIENT(gupnp_device_info_get_context(info))))
            r.local_address = ip;
        r.av_transport = GUPNP_SERVICE_PROXY(transport);
        r.rendering_control = GUPNP_SERVICE_PROXY(rendering);
        spdlog::info("upnp: renderer '{}' ({}) available", friendly_name, udn);
        if (events_.on_renderer_available) events_.on_renderer_available(r);
    }
    if (transport) g_object_unref(transport);
    if (rendering) g_object_unref(rendering);
    return usable;
}

}  // namespace xpmn::upnp
