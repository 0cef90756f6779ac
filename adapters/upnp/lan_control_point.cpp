#include "adapters/upnp/lan_control_point.hpp"

#include <algorithm>

namespace xpmn::upnp {

GUPnPControlPoint* start_lan_control_point(std::vector<GUPnPControlPoint*>& points, GUPnPContext* context,
                                           GUPnPContextManager* manager, const char* target,
                                           std::initializer_list<ControlPointSignal> signals, void* data) {
    soup_session_set_proxy_resolver(gupnp_context_get_session(context), nullptr);
    GUPnPControlPoint* cp = gupnp_control_point_new(context, target);
    for (const auto& s : signals) g_signal_connect(cp, s.name, s.handler, data);
    gssdp_resource_browser_set_active(GSSDP_RESOURCE_BROWSER(cp), TRUE);
    if (manager) gupnp_context_manager_manage_control_point(manager, cp);
    points.push_back(cp);
    return cp;
}

GUPnPControlPoint* stop_lan_control_point(std::vector<GUPnPControlPoint*>& points, GUPnPContext* context,
                                          void* data) {
    auto it = std::find_if(points.begin(), points.end(),
                           [&](GUPnPControlPoint* cp) { return gupnp_control_point_get_context(cp) == context; });
    if (it == points.end()) return nullptr;
    GUPnPControlPoint* cp = *it;
    points.erase(it);
    g_signal_handlers_disconnect_by_data(cp, data);
    gssdp_resource_browser_set_active(GSSDP_RESOURCE_BROWSER(cp), FALSE);
    return cp;
}

}  // namespace xpmn::upnp
