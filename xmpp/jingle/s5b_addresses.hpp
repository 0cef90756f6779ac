// The local addresses to offer S5B direct candidates on (XEP-0260 §2.1:
// every usable address): those of interfaces that are up, IPv4 and global
// IPv6 (link-local ones need a scope a peer cannot use). Loopback only when
// its interface is named, since a peer on another host cannot reach it.
#pragma once

#include <string>
#include <vector>

#include "xmpp/core/result.hpp"

namespace xpmn::jingle {

// `interfaces` empty: every interface except loopback; else only those
// named (the configuration's restriction). Error when the system cannot
// list its interfaces.
Result<std::vector<std::string>> local_addresses(const std::vector<std::string>& interfaces = {});

}  // namespace xpmn::jingle
