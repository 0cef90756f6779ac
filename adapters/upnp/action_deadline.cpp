#include "adapters/upnp/action_deadline.hpp"

#include <gio/gio.h>

#include <utility>

namespace xpmn::upnp {

ActionDeadline::ActionDeadline() : cancellable_(g_cancellable_new()) {}

ActionDeadline::~ActionDeadline() {
    stop();
    g_object_unref(cancellable_);
}

void ActionDeadline::start(std::chrono::milliseconds timeout) {
    stop();
    source_ = g_timeout_source_new(static_cast<guint>(timeout.count()));
    g_source_set_callback(
        source_,
        [](gpointer data) -> gboolean {
            auto* d = static_cast<ActionDeadline*>(data);
            g_source_unref(std::exchange(d->source_, nullptr));  // removed by returning G_SOURCE_REMOVE
            d->timed_out_ = true;
            g_cancellable_cancel(d->cancellable_);
            return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(source_, g_main_context_get_thread_default());
}

void ActionDeadline::stop() {
    if (!source_) return;
    g_source_destroy(source_);
    g_source_unref(std::exchange(source_, nullptr));
}

void ActionDeadline::cancel() { g_cancellable_cancel(cancellable_); }

}  // namespace xpmn::upnp
