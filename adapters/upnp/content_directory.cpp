#include "adapters/upnp/content_directory.hpp"

#include "adapters/upnp/action_deadline.hpp"

#include <libgupnp/gupnp.h>
#include <libsoup/soup.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace xpmn::upnp {

// One action in flight. Owned by a shared_ptr that the GLib callback holds
// (as a heap-allocated copy); the timeout only cancels, so exactly one of
// "reply" or "cancelled" reaches the callback.
struct ContentDirectory::Call {
    std::string action;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    GUPnPServiceProxyAction* request = nullptr;
    ActionDeadline deadline;
    std::chrono::milliseconds timeout{};  // as configured, for the error text
    std::string refused;  // why the response was cancelled after its headers (too large, compressed)
    std::variant<BrowseCallback, StringCallback, UintCallback> done;

    ~Call() {
        if (request) gupnp_service_proxy_action_unref(request);
    }
};

namespace {

// The condition a failed call maps to, and the detail for the log.
struct Failure {
    const char* condition;
    std::string detail;
};

Failure classify(const GError* e, const std::string& action, bool timed_out, const std::string& refused) {
    if (!refused.empty()) return {"undefined-condition", action + ": " + refused};
    if (timed_out) return {"remote-server-timeout", action + ": the media server did not answer in time"};
    if (!e) return {"undefined-condition", action + " failed"};
    std::string detail = action + ": " + e->message;
    // ContentDirectory error 701 "No such object", 710 "No such container".
    if (e->domain == GUPNP_CONTROL_ERROR && (e->code == 701 || e->code == 710)) return {"item-not-found", detail};
    // It answered, with a fault, an HTTP error or nonsense.
    if (e->domain == GUPNP_CONTROL_ERROR || e->domain == GUPNP_SERVER_ERROR) return {"undefined-condition", detail};
    return {"remote-server-not-found", detail};  // transport level
}

std::string seconds(std::chrono::milliseconds t) {
    if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " s";
    return std::to_string(t.count()) + " ms";
}

// Every failed call is logged once; "no such object" is an answer, and a
// cancel (the server left) is expected.
Error error_from(const GError* e, const std::string& action, std::chrono::milliseconds timeout, bool timed_out,
                 const std::string& refused = {}) {
    Failure f = classify(e, action, timed_out, refused);
    bool cancelled = !timed_out && refused.empty() && e && g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    std::string_view condition = f.condition;
    if (condition == "item-not-found" || cancelled)
        spdlog::debug("upnp: {}", f.detail);
    else
        spdlog::warn("upnp: {}", f.detail);
    if (condition == "item-not-found") return {f.condition, "no such object on the media server"};
    if (condition == "remote-server-timeout")
        return {f.condition, "the media server did not answer in " + seconds(timeout)};
    if (condition == "remote-server-not-found") return {f.condition, "the media server cannot be reached"};
    return {f.condition, "the media server failed: " + f.detail};
}

// The reply type a callback takes: std::function<void(const Result<T>&)> → Result<T>.
template <typename Callback>
struct ReplyOf;
template <typename Reply>
struct ReplyOf<std::function<void(const Reply&)>> {
    using type = Reply;
};

template <typename Callbacks>
void finish_with_error(const Callbacks& done, const Error& err) {
    std::visit(
        [&](const auto& callback) {
            callback(typename ReplyOf<std::remove_cvref_t<decltype(callback)>>::type(err));
        },
        done);
}

}  // namespace

ContentDirectory::ContentDirectory(GUPnPServiceProxy* proxy, std::chrono::milliseconds timeout)
    : proxy_(GUPNP_SERVICE_PROXY(g_object_ref(proxy))), timeout_(timeout) {
    // gupnp queues an action's HTTP request while call_action_async runs:
    // that is where the request meets its Call (see start()).
    GUPnPContext* context = gupnp_service_info_get_context(GUPNP_SERVICE_INFO(proxy_));
    if (SoupSession* session = context ? gupnp_context_get_session(context) : nullptr) {
        session_ = g_object_ref(session);
        queued_handler_ = g_signal_connect(session, "request-queued", G_CALLBACK(&ContentDirectory::on_request_queued),
                                           this);
    }
}

ContentDirectory::~ContentDirectory() {
    set_change_callback(nullptr);
    if (lost_handler_) g_signal_handler_disconnect(proxy_, lost_handler_);
    if (queued_handler_) g_signal_handler_disconnect(session_, queued_handler_);
    if (session_) g_object_unref(session_);
    cancel_all();
    g_object_unref(proxy_);
}

namespace {

// Why a response must not be read, judged from its headers; empty: fine.
std::string refusal(SoupMessage* msg) {
    SoupMessageHeaders* headers = soup_message_get_response_headers(msg);
    const char* coding = soup_message_headers_get_one(headers, "Content-Encoding");
    if (coding && g_ascii_strcasecmp(coding, "identity") != 0)
        return std::string("the media server sent a compressed response (") + coding + ") it was not asked for";
    if (soup_message_headers_get_encoding(headers) != SOUP_ENCODING_CONTENT_LENGTH) return {};
    goffset length = soup_message_headers_get_content_length(headers);
    if (length <= ContentDirectory::kMaxResponseBytes) return {};
    return "the media server's response (" + std::to_string(length) + " bytes) is larger than the limit of " +
           std::to_string(ContentDirectory::kMaxResponseBytes) + " bytes";
}

}  // namespace

// Every request to this service gets a guard on its response headers. The
// request of a call being started belongs to that call; any other request to
// our control URL (gupnp's M-POST retry after a 405) to every call in flight.
void ContentDirectory::on_request_queued(void*, void* message, void* self) {
    auto* cd = static_cast<ContentDirectory*>(self);
    auto* msg = static_cast<SoupMessage*>(message);
    struct Guard {
        std::weak_ptr<Call> call;
        std::weak_ptr<ContentDirectory> directory;
    };
    auto guard = std::make_unique<Guard>();
    if (cd->starting_) {
        guard->call = cd->starting_;
    } else {
        char* control = gupnp_service_info_get_control_url(GUPNP_SERVICE_INFO(cd->proxy_));
        char* uri = g_uri_to_string(soup_message_get_uri(msg));
        bool ours = control && uri && g_strcmp0(control, uri) == 0;
        g_free(control);
        g_free(uri);
        if (!ours) return;  // another service's request
        guard->directory = cd->weak_from_this();
    }
    // A compressed body could inflate far beyond what its Content-Length says.
    soup_message_disable_feature(msg, SOUP_TYPE_CONTENT_DECODER);
    soup_message_headers_remove(soup_message_get_request_headers(msg), "Accept-Encoding");
    g_signal_connect_data(
        msg, "got-headers", G_CALLBACK(+[](SoupMessage* m, gpointer data) {
            auto* g = static_cast<Guard*>(data);
            std::string why = refusal(m);
            if (why.empty()) return;
            std::vector<std::shared_ptr<Call>> calls;
            if (auto call = g->call.lock()) calls.push_back(call);
            if (auto directory = g->directory.lock())
                for (auto& w : directory->calls_)
                    if (auto call = w.lock()) calls.push_back(call);
            for (auto& call : calls) {
                spdlog::debug("upnp: {} response refused: {}", call->action, why);
                call->refused = why;
                call->deadline.cancel();
            }
        }),
        guard.release(), [](gpointer data, GClosure*) { delete static_cast<Guard*>(data); }, GConnectFlags{});
}

void ContentDirectory::cancel_all() {
    for (auto& w : calls_)
        if (auto c = w.lock()) c->deadline.cancel();
    calls_.clear();
}

void ContentDirectory::start(const char* action, std::shared_ptr<Call> call) {
    call->action = action;
    call->timeout = timeout_;
    std::erase_if(calls_, [](const std::weak_ptr<Call>& w) { return w.expired(); });
    calls_.push_back(call);
    call->deadline.start(timeout_);
    auto* holder = new std::shared_ptr<Call>(call);
    starting_ = call;
    gupnp_service_proxy_call_action_async(
        proxy_, call->request, call->deadline.cancellable(),
        [](GObject* source, GAsyncResult* res, gpointer data) {
            std::unique_ptr<std::shared_ptr<Call>> holder(static_cast<std::shared_ptr<Call>*>(data));
            Call& c = **holder;
            spdlog::debug("upnp: {} answered in {} us", c.action,
                          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                                c.started).count());
            c.deadline.stop();
            GError* error = nullptr;
            GUPnPServiceProxyAction* action =
                gupnp_service_proxy_call_action_finish(GUPNP_SERVICE_PROXY(source), res, &error);
            if (!action) {
                finish_with_error(c.done, error_from(error, c.action, c.timeout, c.deadline.timed_out(), c.refused));
                g_clear_error(&error);
                return;
            }
            if (auto* browse = std::get_if<BrowseCallback>(&c.done)) {
                char* didl = nullptr;
                guint returned = 0, total = 0, update = 0;
                gupnp_service_proxy_action_get_result(action, &error, "Result", G_TYPE_STRING, &didl,
                                                      "NumberReturned", G_TYPE_UINT, &returned, "TotalMatches",
                                                      G_TYPE_UINT, &total, "UpdateID", G_TYPE_UINT, &update, nullptr);
                Result<CdsResult> r = error ? Result<CdsResult>(error_from(error, c.action, c.timeout, false))
                                            : CdsResult{didl ? didl : "", returned, total, update};
                g_free(didl);
                g_clear_error(&error);
                (*browse)(r);
            } else if (auto* str = std::get_if<StringCallback>(&c.done)) {
                char* caps = nullptr;
                gupnp_service_proxy_action_get_result(action, &error, "SearchCaps", G_TYPE_STRING, &caps, nullptr);
                Result<std::string> r = error ? Result<std::string>(error_from(error, c.action, c.timeout, false))
                                              : std::string(caps ? caps : "");
                g_free(caps);
                g_clear_error(&error);
                (*str)(r);
            } else if (auto* uint = std::get_if<UintCallback>(&c.done)) {
                guint id = 0;
                gupnp_service_proxy_action_get_result(action, &error, "Id", G_TYPE_UINT, &id, nullptr);
                Result<std::uint32_t> r = error ? Result<std::uint32_t>(error_from(error, c.action, c.timeout, false))
                                                : std::uint32_t{id};
                g_clear_error(&error);
                (*uint)(r);
            }
        },
        holder);
    starting_.reset();
}

void ContentDirectory::browse(const std::string& object_id, bool metadata, std::uint32_t start_index,
                              std::uint32_t count, BrowseCallback done) {
    auto call = std::make_shared<Call>();
    call->request = gupnp_service_proxy_action_new(
        "Browse", "ObjectID", G_TYPE_STRING, object_id.c_str(), "BrowseFlag", G_TYPE_STRING,
        metadata ? "BrowseMetadata" : "BrowseDirectChildren", "Filter", G_TYPE_STRING, "*", "StartingIndex",
        G_TYPE_UINT, start_index, "RequestedCount", G_TYPE_UINT, count, "SortCriteria", G_TYPE_STRING, "", nullptr);
    call->done = std::move(done);
    start("Browse", std::move(call));
}

void ContentDirectory::search(const std::string& container_id, const std::string& criteria, std::uint32_t start_index,
                              std::uint32_t count, BrowseCallback done) {
    auto call = std::make_shared<Call>();
    call->request = gupnp_service_proxy_action_new(
        "Search", "ContainerID", G_TYPE_STRING, container_id.c_str(), "SearchCriteria", G_TYPE_STRING,
        criteria.c_str(), "Filter", G_TYPE_STRING, "*", "StartingIndex", G_TYPE_UINT, start_index, "RequestedCount",
        G_TYPE_UINT, count, "SortCriteria", G_TYPE_STRING, "", nullptr);
    call->done = std::move(done);
    start("Search", std::move(call));
}

void ContentDirectory::search_capabilities(StringCallback done) {
    auto call = std::make_shared<Call>();
    call->request = gupnp_service_proxy_action_new("GetSearchCapabilities", nullptr);
    call->done = std::move(done);
    start("GetSearchCapabilities", std::move(call));
}

void ContentDirectory::system_update_id(UintCallback done) {
    auto call = std::make_shared<Call>();
    call->request = gupnp_service_proxy_action_new("GetSystemUpdateID", nullptr);
    call->done = std::move(done);
    start("GetSystemUpdateID", std::move(call));
}

void ContentDirectory::on_notify(GUPnPServiceProxy*, const char* variable, void* value, void* self) {
    auto* cd = static_cast<ContentDirectory*>(self);
    auto on_change = cd->on_change_;  // the callback may unset itself
    if (!on_change) return;
    auto* v = static_cast<GValue*>(value);
    spdlog::debug("upnp: event {}", variable ? variable : "?");
    if (g_strcmp0(variable, "SystemUpdateID") == 0 && G_VALUE_HOLDS_UINT(v))
        on_change(g_value_get_uint(v), {});
    else if (g_strcmp0(variable, "ContainerUpdateIDs") == 0 && G_VALUE_HOLDS_STRING(v))
        on_change(std::nullopt, g_value_get_string(v) ? g_value_get_string(v) : "");
}

void ContentDirectory::set_change_callback(ChangeCallback callback) {
    bool was = static_cast<bool>(on_change_);
    on_change_ = std::move(callback);
    auto notify = reinterpret_cast<GUPnPServiceProxyNotifyCallback>(&ContentDirectory::on_notify);
    if (on_change_ && !was) {
        gupnp_service_proxy_add_notify(proxy_, "SystemUpdateID", G_TYPE_UINT, notify, this);
        gupnp_service_proxy_add_notify(proxy_, "ContainerUpdateIDs", G_TYPE_STRING, notify, this);
        if (!lost_handler_)
            lost_handler_ = g_signal_connect(proxy_, "subscription-lost",
                                             G_CALLBACK(+[](GUPnPServiceProxy*, GError* e, gpointer) {
                                                 spdlog::warn("upnp: event subscription lost: {}",
                                                              e ? e->message : "unknown");
                                             }),
                                             nullptr);
        gupnp_service_proxy_set_subscribed(proxy_, TRUE);
        spdlog::debug("upnp: subscribing to ContentDirectory events");
    } else if (!on_change_ && was) {
        gupnp_service_proxy_set_subscribed(proxy_, FALSE);
        gupnp_service_proxy_remove_notify(proxy_, "SystemUpdateID", notify, this);
        gupnp_service_proxy_remove_notify(proxy_, "ContainerUpdateIDs", notify, this);
    }
}

}  // namespace xpmn::upnp
