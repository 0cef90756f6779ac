// RangeServer: the loopback HTTP server of `xpmn serve` (wire profile §7.1,
// issue 9): `http://127.0.0.1:P/<percent-encoded xmpp URI>` answers HEAD and
// GET with 200, 206 + Content-Range, or 416 + `Content-Range: bytes */TOTAL`,
// so a local player can play and seek a transfer. Bodies come from an
// oob::Source the opener hands back, pulled one chunk at a time: the next
// chunk is asked for only when the previous one was written to the player's
// socket (a player that stops reading stops the transfer), and a player that
// disconnects cancels the source.
//
// Listens on 127.0.0.1 (and ::1 on the same port when the host has IPv6),
// never on another address. Requests whose Host is not a loopback name are
// refused (403): a web page cannot reach the media through DNS rebinding.
// A LanBinding instead listens on one LAN address of this host, for a UPnP
// renderer (issue 10): Host must be that address, and a request is served
// only when its peer's address is admitted for its URI (403 otherwise).
// Runs on the thread-default GMainContext at construction; no thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bridge/relay/http_range.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/oob/source.hpp"

namespace xpmn::controller {

// What the opener found: the resource's length and type, and the source of
// the `size` bytes asked for (all of it, or the range).
struct ServedBody {
    std::uint64_t total = 0;
    std::string type;
    std::uint64_t size = 0;
    oob::SourcePtr source;
};

class RangeServer {
public:
    static constexpr std::size_t kChunk = 64 * 1024;  // one read = one OOB chunk at most
    static constexpr std::size_t kMaxExchanges = 32;  // concurrent requests; more → 503

    using OpenHandler = std::function<void(Result<ServedBody>)>;
    // (uri, range) → the body, asynchronously. The range is never a suffix
    // range (the server resolves those against the total first); nullopt =
    // the whole resource. Errors: relay::kRangeNotSatisfiable → 416,
    // item-not-found → 404, anything else → 502 with the error's text.
    using Opener = std::function<void(const std::string& uri, std::optional<relay::RangeSpec> range, OpenHandler done)>;

    struct LanBinding {
        std::string address;  // this host's address, IPv4 or IPv6 literal
        // Whether a request from `peer` (its address, as `address` is
        // written) may fetch `uri`; called on every request.
        std::function<bool(const std::string& uri, const std::string& peer)> admits;
    };

    // Listens on `port` (0: any free port). Throws std::runtime_error when
    // the address cannot be bound (or is not an address).
    explicit RangeServer(Opener opener, std::uint16_t port = 0);
    RangeServer(Opener opener, LanBinding lan, std::uint16_t port = 0);
    // Cancels every source in flight and closes the listening sockets.
    ~RangeServer();
    RangeServer(const RangeServer&) = delete;
    RangeServer& operator=(const RangeServer&) = delete;

    std::uint16_t port() const;
    // http://127.0.0.1:P/<uri percent-encoded, '/', ':', '?' and ';' included>
    // (the LAN address instead of 127.0.0.1 with a LanBinding)
    std::string url_for(const std::string& uri) const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace xpmn::controller
