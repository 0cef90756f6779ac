#include "adapters/upnp/service_action.hpp"

#include "adapters/upnp/action_deadline.hpp"

#include <libgupnp/gupnp.h>
#include <spdlog/spdlog.h>

namespace xpmn::upnp {

// One action in flight, owned by the GLib callback (a heap-allocated
// shared_ptr); the timeout only cancels, so the callback runs once.
struct ServiceAction::Call {
    std::string action;
    std::string device;
    std::chrono::milliseconds timeout{};
    std::vector<std::string> out;
    Done done;
    GUPnPServiceProxyAction* request = nullptr;
    ActionDeadline deadline;

    ~Call() {
        if (request) gupnp_service_proxy_action_unref(request);
    }
};

namespace {

// A SOAP fault's errorCode in the player profile's terms (AVTransport and
// RenderingControl error codes, UPnP Device Architecture 401/402/501).
Error fault_error(int code, const std::string& what) {
    switch (code) {
    case 401:  // invalid action
    case 602:  // optional action not implemented
    case 710:  // seek mode not supported
    case 712:  // play mode not supported
        return {"feature-not-implemented", what};
    case 402:  // invalid args
    case 600:  // argument value invalid
    case 601:  // argument value out of range
    case 701:  // transition not available (Pause while stopped, …)
    case 711:  // illegal seek target
    case 714:  // illegal MIME type
    case 716:  // resource not found
        return {"bad-request", what};
    default:
        return {"internal-server-error", what};
    }
}

}  // namespace

ServiceAction::ServiceAction(GUPnPServiceProxy* proxy, std::chrono::milliseconds timeout, std::string device)
    : proxy_(GUPNP_SERVICE_PROXY(g_object_ref(proxy))), timeout_(timeout), device_(std::move(device)) {}

ServiceAction::~ServiceAction() {
    cancel_all();
    g_object_unref(proxy_);
}

void ServiceAction::cancel_all() {
    for (auto& w : calls_)
        if (auto c = w.lock()) c->deadline.cancel();
    calls_.clear();
}

namespace {

ActionReply reply_from_error(const GError* e, const std::string& action, const std::string& device,
                             std::chrono::milliseconds timeout, bool timed_out) {
    ActionReply r;
    if (timed_out) {
        r.error = Error{"remote-server-timeout", device + " did not answer " + action + " in " +
                                                     std::to_string(timeout.count() / 1000) + " s"};
    } else if (e && e->domain == GUPNP_CONTROL_ERROR) {
        r.fault = e->code;
        r.error = fault_error(e->code, device + " refused " + action + " (UPnP error " + std::to_string(e->code) +
                                           ": " + e->message + ")");
    } else if (e && e->domain == GUPNP_SERVER_ERROR) {
        r.error = Error{"internal-server-error", device + " failed " + action + ": " + e->message};
    } else {
        r.error = Error{"service-unavailable", device + " cannot be reached" + (e ? std::string(": ") + e->message : "")};
    }
    if (e && g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !timed_out)
        spdlog::debug("upnp: {} cancelled", action);
    else
        spdlog::warn("upnp: {}", r.error->text);
    return r;
}

}  // namespace

void ServiceAction::call(const std::string& action, const Args& in, const std::vector<std::string>& out, Done done) {
    auto call = std::make_shared<Call>();
    call->action = action;
    call->device = device_;
    call->timeout = timeout_;
    call->out = out;
    call->done = std::move(done);
    GList* names = nullptr;
    GList* values = nullptr;
    for (const auto& [name, value] : in) {
        names = g_list_append(names, g_strdup(name.c_str()));
        auto* v = g_new0(GValue, 1);
        g_value_init(v, G_TYPE_STRING);
        g_value_set_string(v, value.c_str());
        values = g_list_append(values, v);
    }
    call->request = gupnp_service_proxy_action_new_from_list(action.c_str(), names, values);
    g_list_free_full(names, g_free);
    g_list_free_full(values, [](gpointer p) {
        g_value_unset(static_cast<GValue*>(p));
        g_free(p);
    });

    std::erase_if(calls_, [](const std::weak_ptr<Call>& w) { return w.expired(); });
    calls_.push_back(call);
    call->deadline.start(timeout_);
    auto* holder = new std::shared_ptr<Call>(call);
    gupnp_service_proxy_call_action_async(
        proxy_, call->request, call->deadline.cancellable(),
        [](GObject* source, GAsyncResult* res, gpointer data) {
            std::unique_ptr<std::shared_ptr<Call>> holder(static_cast<std::shared_ptr<Call>*>(data));
            Call& c = **holder;
            c.deadline.stop();
            GError* error = nullptr;
            GUPnPServiceProxyAction* action =
                gupnp_service_proxy_call_action_finish(GUPNP_SERVICE_PROXY(source), res, &error);
            ActionReply reply;
            if (action) {
                GList* names = nullptr;
                GList* types = nullptr;
                for (const auto& n : c.out) {
                    names = g_list_append(names, const_cast<char*>(n.c_str()));
                    types = g_list_append(types, GSIZE_TO_POINTER(G_TYPE_STRING));
                }
                GList* values = nullptr;
                if (names && !gupnp_service_proxy_action_get_result_list(action, names, types, &values, &error)) {
                    reply = reply_from_error(error, c.action, c.device, c.timeout, false);
                } else {
                    GList* v = values;
                    for (const auto& n : c.out) {
                        const char* s = v ? g_value_get_string(static_cast<GValue*>(v->data)) : nullptr;
                        reply.out[n] = s ? s : "";
                        if (v) v = v->next;
                    }
                }
                g_list_free_full(values, [](gpointer p) {
                    g_value_unset(static_cast<GValue*>(p));
                    g_free(p);
                });
                g_list_free(names);
                g_list_free(types);
            } else {
                reply = reply_from_error(error, c.action, c.device, c.timeout, c.deadline.timed_out());
            }
            g_clear_error(&error);
            c.done(reply);
        },
        holder);
}

}  // namespace xpmn::upnp
