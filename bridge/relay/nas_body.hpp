// The body of one NAS response (NasFetcher) as an oob::Source: read from the
// socket only when asked, cut to the requested range, and ended early by
// cancelling the message (libsoup then closes the connection rather than
// reading the rest of the file to reuse it).
#pragma once

#include <gio/gio.h>

#include <cstdint>
#include <functional>
#include <string>

#include "bridge/relay/gobject_ref.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/oob/source.hpp"

typedef struct _SoupSession SoupSession;
typedef struct _SoupMessage SoupMessage;

namespace xpmn::relay {

// What the source takes of the body: it drops `skip` bytes, then gives
// `size`; `to_end` = the body ends right after them (its EOF is read, which
// returns the connection to the pool), otherwise reading stops there.
struct BodyCut {
    std::uint64_t skip = 0;
    std::uint64_t size = 0;
    bool to_end = true;
};

// `cancellable` must be the one the message was sent with.
oob::SourcePtr make_nas_body_source(GRef<SoupSession> session, GRef<SoupMessage> message,
                                    GRef<GInputStream> stream, GRef<GCancellable> cancellable, BodyCut cut);

// Runs `fn` from the thread-default main context, after the current call.
void defer(std::function<void()> fn);

// A GIO/libsoup failure as the wire's condition: timed out →
// remote-server-timeout, anything else → remote-server-not-found.
Error transport_error(const GError* e, const std::string& what);

}  // namespace xpmn::relay
