// Owning handles for the GObject/GError values the relay keeps (libsoup
// sessions, messages, streams, cancellables), so every path releases them.
#pragma once

#include <glib-object.h>

#include <memory>

namespace xpmn::relay {

struct GObjectUnref {
    void operator()(void* p) const { g_object_unref(p); }
};
template <class T>
using GRef = std::unique_ptr<T, GObjectUnref>;

// Takes a new reference (for objects another owner keeps too).
template <class T>
GRef<T> add_ref(T* object) {
    return GRef<T>(static_cast<T*>(g_object_ref(object)));
}

struct GErrorFree {
    void operator()(GError* e) const { g_error_free(e); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

}  // namespace xpmn::relay
