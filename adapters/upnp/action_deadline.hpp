// A gupnp action's cancellable and the GLib timeout that cancels it (on the
// thread's default context, like gupnp's own sources). The timeout only
// cancels, so the action's callback still runs exactly once, with its reply
// or "cancelled"; timed_out() tells a timeout from any other cancel.
#pragma once

#include <chrono>

typedef struct _GCancellable GCancellable;
typedef struct _GSource GSource;

namespace xpmn::upnp {

class ActionDeadline {
public:
    ActionDeadline();
    ~ActionDeadline();
    ActionDeadline(const ActionDeadline&) = delete;
    ActionDeadline& operator=(const ActionDeadline&) = delete;

    GCancellable* cancellable() const { return cancellable_; }
    void start(std::chrono::milliseconds timeout);
    void stop();  // the reply is in
    void cancel();
    bool timed_out() const { return timed_out_; }

private:
    GCancellable* cancellable_;
    GSource* source_ = nullptr;  // a reference, while the timeout is pending
    bool timed_out_ = false;
};

}  // namespace xpmn::upnp
