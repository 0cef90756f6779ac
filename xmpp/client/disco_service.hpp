// XEP-0030 on one channel: answers disco#info (also for the XEP-0115
// `node#ver` node) and disco#items, and queries other entities.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/disco_info.hpp"
#include "xmpp/core/result.hpp"

namespace xpmn::client {

// The XEP-0115 caps node of everything this project runs.
inline constexpr const char* caps_node = "https://xpmn.org/xpmn-bridge";

// Installs the disco#info/#items responders for `info` on a channel's router.
void serve_disco(StanzaRouter& router, std::shared_ptr<const disco::Info> info);

// A presence stanza carrying XEP-0115 caps for `info`.
xml::Element caps_presence(const disco::Info& info);

using DiscoResult = Result<disco::Info>;
void query_disco_info(C2sSession& session, const std::string& jid, std::function<void(const DiscoResult&)> done,
                      std::optional<std::chrono::milliseconds> timeout = {});

}  // namespace xpmn::client
