// Device resources for UPnP devices (wire profile §2): PREFIX-<h>, with <h>
// the first 8 hex digits of SHA-1 of the UDN, so a server keeps its resource
// across restarts of the NAS and of the bridge.
#pragma once

#include <string>

namespace xpmn::upnp {

std::string resource_for_udn(const std::string& prefix, const std::string& udn);

// SHA-1 of `text` in lowercase hex (40 digits).
std::string sha1_hex(const std::string& text);

}  // namespace xpmn::upnp
