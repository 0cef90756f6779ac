// Large Directory results (wire profile §5, last bullet) come out of band
// when this controller has an OOB session with the device
// (controller/directory_request reads them). The device decides by whether
// a session exists, so before a browse or search xpmn opens one when the device advertises the OOB feature in its
// disco#info — bounded by kOobPrepareWait: a session that is not up by then
// is not waited for, and the result comes inline (up to 192 KiB).
#pragma once

#include <chrono>
#include <functional>

#include "tools/xpmn/controller.hpp"

namespace xpmn::tools {

inline constexpr std::chrono::seconds kOobPrepareWait{5};

// Opens the OOB session with `device` if it advertises one (end-to-end
// only), then `ready` — always, whether or not a session came up.
void prepare_oob(Controller& c, const Jid& device, std::function<void()> ready);

}  // namespace xpmn::tools
