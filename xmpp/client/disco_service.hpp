// XEP-0030 on one session: answers disco#info (also for the XEP-0115
// `node#ver` node) and disco#items, and queries other entities.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/core/disco_info.hpp"

namespace xpmn::client {

// The XEP-0115 caps node of everything this project runs.
inline constexpr const char* caps_node = "https://xpmn.org/xpmn-bridge";

// Installs the disco#info/#items responders for `info` on the session's router.
void serve_disco(C2sSession& session, std::shared_ptr<const disco::Info> info);

// A presence stanza carrying XEP-0115 caps for `info`.
xml::Element caps_presence(const disco::Info& info);

struct DiscoResult {
    bool ok = false;
    disco::Info info;
    std::string error;  // condition and text when !ok
};
void query_disco_info(C2sSession& session, const std::string& jid, std::function<void(const DiscoResult&)> done,
                      std::optional<std::chrono::milliseconds> timeout = {});

}  // namespace xpmn::client
