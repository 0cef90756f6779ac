// Async calls to one UPnP ContentDirectory service through gupnp, on the
// GLib main context that runs inside the daemon's Asio loop. Every call ends
// exactly once: with a result, an error, or a timeout (10 s by default).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"

typedef struct _GUPnPServiceProxy GUPnPServiceProxy;

namespace xpmn::upnp {

struct CdsResult {
    std::string didl;            // the DIDL-Lite document (Result)
    std::uint32_t returned = 0;  // NumberReturned
    std::uint32_t total = 0;     // TotalMatches
    std::uint32_t update_id = 0; // UpdateID
};

// Failures reach callbacks as the Error the Directory profile answers with
// (docs/architecture.md, "Errors"): "no such object" (UPnP 701/710) →
// item-not-found, no answer in time → remote-server-timeout, transport
// failure or the call cancelled → remote-server-not-found, any other answer
// (a SOAP fault, an HTTP error, a refused response) → undefined-condition
// with what the server said. The detail is logged here, once.

// What the Directory profile asks of a ContentDirectory. An interface so
// that unit tests can stand in for faults a real NAS cannot be made to show
// on demand (a server leaving while a call is in flight).
class ContentDirectoryService {
public:
    using BrowseCallback = std::function<void(const Result<CdsResult>&)>;
    using StringCallback = std::function<void(const Result<std::string>&)>;
    using UintCallback = std::function<void(const Result<std::uint32_t>&)>;
    // (SystemUpdateID, ContainerUpdateIDs as sent: "id,updateid,id,updateid…")
    using ChangeCallback = std::function<void(std::optional<std::uint32_t> system_update_id,
                                              const std::string& container_update_ids)>;

    virtual ~ContentDirectoryService() = default;
    // Every call ends exactly once, never before it returns.
    virtual void browse(const std::string& object_id, bool metadata, std::uint32_t start, std::uint32_t count,
                        BrowseCallback done) = 0;
    virtual void search(const std::string& container_id, const std::string& criteria, std::uint32_t start,
                        std::uint32_t count, BrowseCallback done) = 0;
    virtual void search_capabilities(StringCallback done) = 0;
    // GetSystemUpdateID: watching polls it, since many servers never send GENA events.
    virtual void system_update_id(UintCallback done) = 0;
    // GENA: subscribes to SystemUpdateID and ContainerUpdateIDs while a
    // callback is set; nullptr unsubscribes.
    virtual void set_change_callback(ChangeCallback callback) = 0;
    // Cancels every call in flight (their callbacks still run, with remote-server-not-found).
    virtual void cancel_all() = 0;
};

class ContentDirectory : public ContentDirectoryService, public std::enable_shared_from_this<ContentDirectory> {
public:
    // A response that announces a larger body is cancelled after its headers
    // (before gupnp reads it into memory). DIDL itself is limited to 8 MiB,
    // and the SOAP envelope escapes it. Compression is not offered (a small
    // gzip body can inflate to gigabytes) and a compressed response is
    // refused. A body without Content-Length (chunked, or up to the end of
    // the connection) is bounded only by the call timeout: libsoup 3.2 has no
    // per-message body hook.
    static constexpr std::int64_t kMaxResponseBytes = 16 * 1024 * 1024;

    // Takes a reference on `proxy`.
    ContentDirectory(GUPnPServiceProxy* proxy, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~ContentDirectory();
    ContentDirectory(const ContentDirectory&) = delete;
    ContentDirectory& operator=(const ContentDirectory&) = delete;

    void browse(const std::string& object_id, bool metadata, std::uint32_t start, std::uint32_t count,
                BrowseCallback done) override;
    void search(const std::string& container_id, const std::string& criteria, std::uint32_t start,
                std::uint32_t count, BrowseCallback done) override;
    void search_capabilities(StringCallback done) override;
    void system_update_id(UintCallback done) override;
    void set_change_callback(ChangeCallback callback) override;
    void cancel_all() override;

private:
    struct Call;
    void start(const char* action, std::shared_ptr<Call> call);
    static void on_notify(GUPnPServiceProxy*, const char* variable, void* value, void* self);
    static void on_request_queued(void* session, void* message, void* self);

    GUPnPServiceProxy* proxy_;
    std::chrono::milliseconds timeout_;
    ChangeCallback on_change_;
    unsigned long lost_handler_ = 0;
    void* session_ = nullptr;           // the context's SoupSession (a reference)
    unsigned long queued_handler_ = 0;
    std::shared_ptr<Call> starting_;    // the call whose request is being queued right now
    std::vector<std::weak_ptr<Call>> calls_;
};

}  // namespace xpmn::upnp
