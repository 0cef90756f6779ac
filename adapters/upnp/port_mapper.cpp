#include "adapters/upnp/port_mapper.hpp"

#include "adapters/upnp/lan_control_point.hpp"

#include <libgupnp/gupnp.h>
#include <libsoup/soup.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

namespace xpmn::upnp {

namespace {

// Matches v2 routers too (SSDP and gupnp take a higher version as compatible).
const char* const kWanIpConnection = "urn:schemas-upnp-org:service:WANIPConnection:1";
// UPnP-IGD errors of AddPortMapping meaning "that external port is taken".
constexpr int kConflictInMappingEntry = 718;
constexpr int kSamePortValuesRequired = 724;  // some routers only map external == internal
constexpr int kMaxAttempts = 4;

using ProxyRef = std::shared_ptr<GUPnPServiceProxy>;
ProxyRef hold(GUPnPServiceProxy* p) {
    g_object_ref(p);
    return ProxyRef(p, [](GUPnPServiceProxy* q) { g_object_unref(q); });
}

// One SOAP action, asynchronously: `done(action or null, error or null)`,
// within kSoapTimeout (a router that never answers holds nothing for long;
// the S5B transport stopped waiting long before).
constexpr guint kSoapTimeoutSeconds = 10;
using SoapDone = std::function<void(GUPnPServiceProxyAction* action, GError* error)>;
void soap(const ProxyRef& proxy, GUPnPServiceProxyAction* request, SoapDone done) {
    struct Call {
        ProxyRef proxy;
        GUPnPServiceProxyAction* request;
        SoapDone done;
        GCancellable* cancellable = g_cancellable_new();
        GSource* timeout = nullptr;
        ~Call() {
            if (timeout) {
                g_source_destroy(timeout);
                g_source_unref(timeout);
            }
            g_object_unref(cancellable);
            gupnp_service_proxy_action_unref(request);
        }
    };
    auto* call = new Call{proxy, request, std::move(done)};
    call->timeout = g_timeout_source_new_seconds(kSoapTimeoutSeconds);
    g_source_set_callback(
        call->timeout,
        [](gpointer data) -> gboolean {
            auto* c = static_cast<Call*>(data);
            g_source_unref(std::exchange(c->timeout, nullptr));  // removed by returning G_SOURCE_REMOVE
            g_cancellable_cancel(c->cancellable);
            return G_SOURCE_REMOVE;
        },
        call, nullptr);
    g_source_attach(call->timeout, g_main_context_get_thread_default());
    gupnp_service_proxy_call_action_async(
        proxy.get(), request, call->cancellable,
        [](GObject* source, GAsyncResult* res, gpointer data) {
            std::unique_ptr<Call> c(static_cast<Call*>(data));
            GError* error = nullptr;
            GUPnPServiceProxyAction* action =
                gupnp_service_proxy_call_action_finish(GUPNP_SERVICE_PROXY(source), res, &error);
            c->done(error ? nullptr : action, error);
            g_clear_error(&error);
        },
        call);
}

std::uint16_t random_port() {
    static std::mt19937 rng{std::random_device{}()};
    return std::uniform_int_distribution<unsigned>(49152, 65535)(rng);
}

// The router's mapping, removed again when released.
class IgdMapping : public jingle::PortMapping {
public:
    IgdMapping(ProxyRef proxy, std::string host, std::uint16_t port)
        : PortMapping(std::move(host), port), proxy_(std::move(proxy)) {}
    ~IgdMapping() override {
        std::uint16_t port = external_port();
        spdlog::info("port mapping: removing {}:{}", external_host(), port);
        soap(proxy_,
             gupnp_service_proxy_action_new("DeletePortMapping", "NewRemoteHost", G_TYPE_STRING, "", "NewExternalPort",
                                            G_TYPE_UINT, guint(port), "NewProtocol", G_TYPE_STRING, "TCP", nullptr),
             [port](GUPnPServiceProxyAction* action, GError* error) {
                 GError* e = nullptr;
                 if (action) gupnp_service_proxy_action_get_result(action, &e, nullptr);
                 if (error || e)
                     spdlog::warn("port mapping: the router did not remove port {}: {} (its lease ends it)", port,
                                  (error ? error : e)->message);
                 g_clear_error(&e);
             });
    }

private:
    ProxyRef proxy_;
};

struct Request {
    ProxyRef proxy;
    std::string external_host, internal_address;
    std::uint16_t internal_port = 0;
    jingle::PortMapped done;
};

void add_mapping(std::shared_ptr<Request> r, std::uint16_t external_port, int attempt) {
    auto* request = gupnp_service_proxy_action_new(
        "AddPortMapping", "NewRemoteHost", G_TYPE_STRING, "", "NewExternalPort", G_TYPE_UINT, guint(external_port),
        "NewProtocol", G_TYPE_STRING, "TCP", "NewInternalPort", G_TYPE_UINT, guint(r->internal_port),
        "NewInternalClient", G_TYPE_STRING, r->internal_address.c_str(), "NewEnabled", G_TYPE_BOOLEAN, TRUE,
        "NewPortMappingDescription", G_TYPE_STRING, PortMapper::kDescription, "NewLeaseDuration", G_TYPE_UINT,
        guint(PortMapper::kLeaseSeconds), nullptr);
    soap(r->proxy, request, [r, external_port, attempt](GUPnPServiceProxyAction* action, GError* error) {
        GError* e = nullptr;
        if (action) gupnp_service_proxy_action_get_result(action, &e, nullptr);
        GError* failed = error ? error : e;
        if (!failed) {
            spdlog::info("port mapping: {}:{} -> {}:{}", r->external_host, external_port, r->internal_address,
                         r->internal_port);
            return r->done(std::make_unique<IgdMapping>(r->proxy, r->external_host, external_port));
        }
        int code = failed->domain == GUPNP_CONTROL_ERROR ? failed->code : 0;
        std::string why = failed->message ? failed->message : "unknown error";
        g_clear_error(&e);
        if (code == kConflictInMappingEntry && attempt + 1 < kMaxAttempts)
            return add_mapping(r, random_port(), attempt + 1);
        if (code == kSamePortValuesRequired && external_port != r->internal_port && attempt + 1 < kMaxAttempts)
            return add_mapping(r, r->internal_port, kMaxAttempts - 1);
        spdlog::info("port mapping: the router refused {}:{} (error {}: {}); no assisted candidate",
                     r->internal_address, r->internal_port, code, why);
        r->done(nullptr);
    });
}

}  // namespace

std::shared_ptr<PortMapper> PortMapper::create(std::vector<std::string> interfaces) {
    return std::shared_ptr<PortMapper>(new PortMapper(std::move(interfaces)));
}

PortMapper::~PortMapper() {
    for (auto* cp : control_points_) g_signal_handlers_disconnect_by_data(cp, this);
    if (manager_) {
        g_signal_handlers_disconnect_by_data(manager_, this);
        g_object_unref(manager_);
    }
    for (auto* cp : control_points_) g_object_unref(cp);
    for (auto& [address, proxy] : routers_) g_object_unref(proxy);
    interface_contexts_.reset();
}

void PortMapper::start() {
    if (!interfaces_.empty()) {
        interface_contexts_ = std::make_unique<InterfaceContexts>(
            interfaces_, 0,
            InterfaceContexts::Events{[this](GUPnPContext* c) { add_context(c, nullptr); },
                                      [this](GUPnPContext* c) { remove_context(c); }});
        interface_contexts_->start();
        return;
    }
    manager_ = gupnp_context_manager_create_full(GSSDP_UDA_VERSION_1_0, G_SOCKET_FAMILY_IPV4, 0);
    g_signal_connect(manager_, "context-available",
                     G_CALLBACK(+[](GUPnPContextManager* m, GUPnPContext* c, void* self) {
                         static_cast<PortMapper*>(self)->add_context(c, m);
                     }),
                     this);
    g_signal_connect(manager_, "context-unavailable",
                     G_CALLBACK(+[](GUPnPContextManager*, GUPnPContext* c, void* self) {
                         static_cast<PortMapper*>(self)->remove_context(c);
                     }),
                     this);
}

void PortMapper::add_context(GUPnPContext* context, GUPnPContextManager* manager) {
    start_lan_control_point(control_points_, context, manager, kWanIpConnection,
                            {{"service-proxy-available", G_CALLBACK(&PortMapper::on_service_available)},
                             {"service-proxy-unavailable", G_CALLBACK(&PortMapper::on_service_unavailable)}},
                            this);
}

void PortMapper::remove_context(GUPnPContext* context) {
    GUPnPControlPoint* cp = stop_lan_control_point(control_points_, context, this);
    if (!cp) return;
    const char* ip = gssdp_client_get_host_ip(GSSDP_CLIENT(context));
    if (auto r = routers_.find(ip ? ip : ""); r != routers_.end()) {
        g_object_unref(r->second);
        routers_.erase(r);
    }
    g_object_unref(cp);
}

void PortMapper::on_service_available(GUPnPControlPoint* cp, GUPnPServiceProxy* proxy, void* data) {
    auto* self = static_cast<PortMapper*>(data);
    const char* ip = gssdp_client_get_host_ip(GSSDP_CLIENT(gupnp_control_point_get_context(cp)));
    if (!ip || self->routers_.count(ip)) return;
    const char* location = gupnp_service_info_get_location(GUPNP_SERVICE_INFO(proxy));
    spdlog::info("port mapping: home router found from {} ({})", ip,
                 gupnp_service_info_get_service_type(GUPNP_SERVICE_INFO(proxy)));
    spdlog::debug("port mapping: router described at {}", location ? location : "?");
    self->routers_[ip] = GUPNP_SERVICE_PROXY(g_object_ref(proxy));
}

void PortMapper::on_service_unavailable(GUPnPControlPoint* cp, GUPnPServiceProxy* proxy, void* data) {
    auto* self = static_cast<PortMapper*>(data);
    const char* ip = gssdp_client_get_host_ip(GSSDP_CLIENT(gupnp_control_point_get_context(cp)));
    auto it = self->routers_.find(ip ? ip : "");
    if (it == self->routers_.end() || it->second != proxy) return;
    spdlog::info("port mapping: home router seen from {} gone", it->first);
    g_object_unref(it->second);
    self->routers_.erase(it);
}

void PortMapper::map(const std::string& internal_address, std::uint16_t internal_port, jingle::PortMapped done) {
    auto it = routers_.find(internal_address);
    if (it == routers_.end()) {
        spdlog::debug("port mapping: no router known on the LAN of {}", internal_address);
        return done(nullptr);
    }
    auto r = std::make_shared<Request>(Request{hold(it->second), {}, internal_address, internal_port, std::move(done)});
    soap(r->proxy, gupnp_service_proxy_action_new("GetExternalIPAddress", nullptr),
         [r](GUPnPServiceProxyAction* action, GError* error) {
             char* ip = nullptr;
             GError* e = nullptr;
             if (action)
                 gupnp_service_proxy_action_get_result(action, &e, "NewExternalIPAddress", G_TYPE_STRING, &ip, nullptr);
             std::string external = ip ? ip : "";
             g_free(ip);
             GError* failed = error ? error : e;
             if (failed || external.empty() || external == "0.0.0.0") {
                 spdlog::info("port mapping: the router has no external address ({})",
                              failed ? failed->message : "none given");
                 g_clear_error(&e);
                 return r->done(nullptr);
             }
             r->external_host = external;
             add_mapping(r, r->internal_port, 0);
         });
}

jingle::MapPort PortMapper::map_port() {
    return [w = weak_from_this()](const std::string& address, std::uint16_t port, jingle::PortMapped done) {
        if (auto self = w.lock()) return self->map(address, port, std::move(done));
        done(nullptr);
    };
}

}  // namespace xpmn::upnp
