// HTML text escaping for the status page: everything a peer, a NAS or a
// configuration names (device names, JIDs, log lines) goes through it.
#pragma once

#include <string>
#include <string_view>

namespace xpmn::daemon::web {

// & < > " ' escaped (the XML escaping of attribute values, which HTML
// reads the same), invalid UTF-8 and control characters dropped: safe in
// element text and in quoted attribute values.
std::string html_escape(std::string_view text);

}  // namespace xpmn::daemon::web
