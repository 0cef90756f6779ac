// The controller's side of the Directory profile (wire profile §5): a
// <browse/> or <search/> on the device's end-to-end stream, answered with
// the <container/> inline or, when it is over 16 KiB and an OOB session
// with the device exists, on an OOB id (§5, last bullet) whose document is
// read and parsed here. Used by `xpmn browse` / `search`, the benchmarks'
// client and the bridge showing other bridges' servers to the LAN.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "controller/controller_links.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::controller {

// The largest out-of-band result document taken.
inline constexpr std::size_t kMaxOobResult = 16 * 1024 * 1024;

// `payload` (<browse/> or <search/>) to `device` (full JID) → its <container/>.
// Errors: the channel's, the device's IQ error, bad-request when the answer
// is not a <container/>, and those of read_oob_result.
void directory_request(ControllerLinks& controller, const std::string& device, xml::Element payload,
                       std::function<void(Result<xml::Element>)> done);

// True when `payload` is an <oob xmlns='urn:xmpp:jingle:apps:out-of-band:0'/> answer.
bool is_oob_result(const xml::Element& payload);
// Reads and parses the document of such an answer from `device` (at most
// kMaxOobResult bytes; a larger one is aborted: resource-constraint).
void read_oob_result(ControllerLinks& controller, const Jid& device, const xml::Element& oob,
                     std::function<void(Result<xml::Element>)> done);

}  // namespace xpmn::controller
