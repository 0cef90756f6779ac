// The MediaServer Transfer profile (wire profile §6.1): `transfer uid from
// to` → `<oob id size total type/>`. The uid is resolved by the device's
// MediaTransfers (the UPnP adapter: the table the Directory mapping filled,
// so no NAS URL is ever on the wire; a player's cover art: CoverArt),
// access is checked against the friend's grant on the item's container (or
// on the whole device, TransferServices::device_permission), and the opened bytes are sent on
// the peer's out-of-band session as a new id. The NAS is read only as fast
// as that session drains (oob::Source).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bridge/access_policy.hpp"
#include "bridge/device.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/oob/source.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::profiles {

class MediaDirectory;

inline constexpr const char* ns_oob = "urn:xmpp:jingle:apps:out-of-band:0";

// Inclusive byte offsets like HTTP's `Range: bytes=from-to`; both optional.
struct TransferRequest {
    std::string uid;
    std::optional<std::uint64_t> from, to;
};
// bad-request with a text on a malformed request (no uid, uid over 1024
// characters, offsets that are not non-negative integers, from > to).
Result<TransferRequest> parse_transfer(const xml::Element& transfer);

// What a media server's resource gives when opened for a range.
struct OpenedMedia {
    std::uint64_t size = 0;   // bytes that will be sent
    std::uint64_t total = 0;  // length of the whole resource
    std::string type;         // MIME type
    oob::SourcePtr source;
};
using OpenCallback = std::function<void(Result<OpenedMedia>)>;

// One per media server device (the adapter provides it).
class MediaTransfers {
public:
    virtual ~MediaTransfers() = default;
    // The object whose item the uid names (for the grant check); nullopt
    // for an unknown uid.
    virtual std::optional<std::string> object_of(const std::string& uid) const = 0;
    // Opens [from, to] of the uid's resource. Errors: item-not-found,
    // range-not-satisfiable, remote-server-not-found, remote-server-timeout.
    virtual void open(const TransferRequest& request, OpenCallback done) = 0;
    // The media server's own (LAN) URL of the uid's resource, for a player
    // of this bridge to fetch itself (wire profile §7.1); never put on the
    // wire. nullopt: unknown uid, or the server has none to give.
    virtual std::optional<std::string> lan_url(const std::string& /*uid*/) const { return std::nullopt; }
};

struct TransferServices {
    std::shared_ptr<MediaTransfers> transfers;
    std::weak_ptr<MediaDirectory> directory;  // parents, for grants on a container
    // A transfer whose requester's OOB session is being set up (its TLS
    // handshake under way: OobLinks::when_ready) waits for it this long,
    // then gets oob-session-required.
    boost::asio::any_io_executor executor;
    std::chrono::milliseconds setup_wait{10000};
    // nullopt: a friend needs `read` on the item's container (media
    // servers). Set: this permission on the whole device (a player's cover
    // art shows what its events show: `events`).
    std::optional<security::Permission> device_permission;
};

// The <error/> of §6.1 for a failed open or a missing session.
xml::Element range_not_satisfiable_error(std::string_view text);
xml::Element oob_session_required_error();

// Adds the transfer IQ handler to the device; the bytes go out on the
// device's OobLinks.
void install_transfer_profile(bridge::Device& device, TransferServices services,
                              std::shared_ptr<const bridge::AccessPolicy> access);

}  // namespace xpmn::profiles
