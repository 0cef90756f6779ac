// The controller's side of the Transfer profile (wire profile §6): a
// transfer URI `xmpp:FULLJID?transfer;uid=UID` becomes a request on the
// device's end-to-end stream, answered with an id on the controller's OOB
// session with that device (opened on first use, reused). The body comes
// out as a pull oob::Source: while nobody pulls, the OOB id is paused (and
// with it the transport), so a slow disk or a paused player pushes back to
// the NAS. Cancelling the source sends the §6.2 abort.
//
// `xpmn get`, `xpmn serve`, large Directory results and a bridge playing
// another bridge's item (bridge/profiles/remote_items) use it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "controller/secure_links.hpp"
#include "xmpp/core/jid.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/core/transfer_uri.hpp"
#include "xmpp/oob/source.hpp"

namespace xpmn::controller {

class ControllerLinks;

using xpmn::TransferUri;

struct IncomingTransfer {
    std::uint64_t size = 0;   // bytes the body will give
    std::uint64_t total = 0;  // length of the whole resource
    std::string type;         // MIME type
    std::string path;         // how the bytes travel: "s5b-direct", "s5b-proxy" or "ibb"
    oob::SourcePtr body;      // the bytes; an Error when the id ended short
};
using TransferHandler = std::function<void(Result<IncomingTransfer>)>;

// from/to: inclusive offsets (both optional, like the wire's).
void open_transfer(ControllerLinks& controller, const TransferUri& uri, std::optional<std::uint64_t> from,
                   std::optional<std::uint64_t> to, TransferHandler done);

// The bytes of OOB id `id` (announced with `size`) on `session` with
// `device`, as a Source like IncomingTransfer::body: large Directory
// results (wire profile §5) arrive this way too. Cancelling it aborts the id.
Result<oob::SourcePtr> open_oob_id(ControllerLinks& controller, const Jid& device, const OobPtr& session,
                                   const std::string& id, std::uint64_t size);

}  // namespace xpmn::controller
