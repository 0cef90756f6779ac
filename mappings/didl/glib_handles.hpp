// unique_ptr deleters for the GLib/GObject/libxml2 objects the DIDL mapping
// owns, so that every early return frees them.
#pragma once

#include <glib-object.h>
#include <libxml/xmlmemory.h>

namespace xpmn::mappings {

struct GObjectUnref {
    void operator()(void* p) const { g_object_unref(p); }
};
struct GErrorFree {
    void operator()(GError* e) const { g_error_free(e); }
};
struct GListFree {  // the list only (gupnp-av "transfer container")
    void operator()(GList* l) const { g_list_free(l); }
};
struct GListUnrefAll {  // the list and a reference on each element ("transfer full")
    void operator()(GList* l) const { g_list_free_full(l, g_object_unref); }
};
struct XmlFree {
    void operator()(xmlChar* p) const { xmlFree(p); }
};

}  // namespace xpmn::mappings
