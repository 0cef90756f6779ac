// Large Directory results (wire profile §5, last bullet): a device answers
// with <oob xmlns='urn:xmpp:jingle:apps:out-of-band:0' id size
// type='text/xml'/> when the result is over 16 KiB and this controller has
// an OOB session with it; the <container/> document arrives on that id.
//
// The device decides by whether a session exists, so before a browse or
// search xpmn opens one when the device advertises the OOB feature in its
// disco#info — bounded by kOobPrepareWait: a session that is not up by then
// is not waited for, and the result comes inline (up to 192 KiB).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "tools/xpmn/controller.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::tools {

// The largest out-of-band result document taken.
inline constexpr std::size_t kMaxOobResult = 16 * 1024 * 1024;
inline constexpr std::chrono::seconds kOobPrepareWait{5};

// Opens the OOB session with `device` if it advertises one (end-to-end
// only), then `ready` — always, whether or not a session came up.
void prepare_oob(Controller& c, const Jid& device, std::function<void()> ready);

// True when `payload` is such an <oob/> answer.
bool is_oob_result(const xml::Element& payload);
// Reads and parses the document of an <oob/> answer from `device`.
void read_oob_result(Controller& c, const Jid& device, const xml::Element& oob,
                     std::function<void(Result<xml::Element>)> done);

}  // namespace xpmn::tools
