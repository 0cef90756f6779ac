// The controller's S5B offer (XEP-0260) for a Jingle session with a device:
// direct candidates on the [transfer] interfaces' addresses and the
// server's SOCKS5 proxies found. Used for the OOB sessions (§6.2) and the
// end-to-end streams (§3.1); either falls back to IBB by itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "xmpp/jingle/content_transport.hpp"
#include "xmpp/jingle/s5b_transport.hpp"

namespace xpmn::controller {

// The offer; it makes no transport (so IBB is offered) when there is no
// candidate at all. Once the stream is up, `*path` says how its bytes
// travel: "s5b-direct", "s5b-assisted" or "s5b-proxy"; it stays as it was
// (give "ibb") when S5B never connected.
jingle::OfferTransport s5b_offer(const config::TransferSection& transfer,
                                 const std::vector<jingle::S5bStreamhost>& proxies,
                                 std::shared_ptr<std::string> path);

}  // namespace xpmn::controller
