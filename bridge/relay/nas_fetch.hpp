// NasFetcher: GETs a media file (or a byte range of it) from a NAS over HTTP
// with libsoup 3 and hands the body out as an oob::Source, so the bridge
// relays it into an out-of-band id at the speed the reader drains it
// (wire profile §6.1/§6.2). Nothing is read ahead: the body is read from the
// socket only when the Source is asked, one piece at a time, and TCP flow
// control pushes back on the NAS.
//
// Runs on the thread-default GMainContext at construction (the one the
// GlibIntegration drives from the io_context): no thread, no loop of its own.
//
// Policy, explicit:
//  - One keep-alive session for every fetch; a body read to its end returns
//    its connection to the pool, a cancelled one closes it.
//  - kTimeoutSeconds for connecting and for every read (a NAS that stalls
//    mid-body ends the source with remote-server-timeout).
//  - Redirects are followed only to the same scheme, host and port (at most
//    kMaxRedirects); elsewhere → not-allowed (no request forgery into the LAN
//    through a NAS that redirects).
//  - No content coding is asked for and a coded body is refused: ranges are
//    offsets into the file itself.
//  - Answers: a 206 whose Content-Range holds the requested range resolved
//    against the total, or a 200 (whole file; a NAS ignoring Range). When
//    the body holds more than the range, the bytes before it are read and
//    dropped (at most kMaxSkipBytes, else not-allowed) and reading stops
//    after it. A length is required (the wire announces size and total).
//    minidlna 1.3's quirks, met with the real server: `bytes=0-0` answered
//    with the whole rest (cut), a `to` past the end answered 416 (asked
//    again as `from-`), a `from` past the end answered 400 (asked again
//    without Range: the length decides). 404/410 → item-not-found;
//    416 → kRangeNotSatisfiable; another status or a malformed answer →
//    undefined-condition; unreachable → remote-server-not-found; no answer
//    in time → remote-server-timeout.
#pragma once

#include <gio/gio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "bridge/relay/http_range.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/oob/source.hpp"

typedef struct _SoupSession SoupSession;

namespace xpmn::relay {

// What a fetch will deliver, known from the response headers.
struct NasBody {
    std::uint64_t size = 0;   // bytes the source will give
    std::uint64_t total = 0;  // length of the whole file
    std::string type;         // Content-Type (application/octet-stream if none)
    oob::SourcePtr source;    // the body, read on demand
};

class NasFetcher {
public:
    static constexpr unsigned kTimeoutSeconds = 10;  // connect and each read (wire profile §5/§8)
    static constexpr int kMaxRedirects = 5;
    // Concurrent transfers from one NAS each hold a connection; libsoup's
    // default of 2 per host would queue the third behind the first two.
    static constexpr int kMaxConnectionsPerHost = 16;
    static constexpr int kMaxConnections = 64;
    // Dropping bytes of a NAS that ignores Range costs NAS bandwidth: bounded.
    static constexpr std::uint64_t kMaxSkipBytes = 64 * 1024 * 1024;

    struct Options {
        unsigned timeout_seconds = kTimeoutSeconds;
    };

    explicit NasFetcher(Options options);
    NasFetcher() : NasFetcher(Options{}) {}
    // Requests still waiting for their headers are cancelled and their
    // handlers never run. Sources already handed out stay valid.
    ~NasFetcher();
    NasFetcher(const NasFetcher&) = delete;
    NasFetcher& operator=(const NasFetcher&) = delete;

    using OpenHandler = std::function<void(Result<NasBody>)>;
    // GET `url` (http only), the whole file or `range`. `done` runs once,
    // from the event loop, never inside open().
    void open(const std::string& url, std::optional<RangeSpec> range, OpenHandler done);

private:
    struct Request;
    static void send(std::shared_ptr<Request> request);
    static void sent(GObject* session, GAsyncResult* result, gpointer data);
    static void on_headers(const std::shared_ptr<Request>& request, GInputStream* body);

    SoupSession* session_;
    std::set<std::shared_ptr<Request>> pending_;  // waiting for headers
};

}  // namespace xpmn::relay
