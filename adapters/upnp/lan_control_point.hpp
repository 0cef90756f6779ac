// The LAN control points of the UPnP adapter (media servers, the home
// router's port mapping), one per network context: created without an HTTP
// proxy (LAN devices are never behind one, and without a resolver GIO
// starts no thread to look one up), browsing at once, and handed to the
// context manager; found again by context when the interface goes.
#pragma once

#include <libgupnp/gupnp.h>

#include <initializer_list>
#include <vector>

namespace xpmn::upnp {

struct ControlPointSignal {
    const char* name;  // e.g. "device-proxy-available"
    GCallback handler;
};

// Adds the new control point for `target` to `points` and returns it.
GUPnPControlPoint* start_lan_control_point(std::vector<GUPnPControlPoint*>& points, GUPnPContext* context,
                                           GUPnPContextManager* manager, const char* target,
                                           std::initializer_list<ControlPointSignal> signals, void* data);
// Removes the control point of `context` from `points`, disconnects
// `data`'s handlers and stops its browsing; the caller owns the reference
// returned (nullptr when there was none).
GUPnPControlPoint* stop_lan_control_point(std::vector<GUPnPControlPoint*>& points, GUPnPContext* context,
                                          void* data);

}  // namespace xpmn::upnp
