// How a controller shows itself on its c2s session (wire profile §2): disco
// answers and caps presence saying only that it is a controller (plus any
// `…+notify` it asks for). The `xpmn` CLI and a bridge's own controller
// session (bridge/profiles/remote_items) announce themselves this way.
#pragma once

#include <memory>
#include <string>

#include "xmpp/client/c2s_session.hpp"
#include "xmpp/core/disco_info.hpp"

namespace xpmn::controller {

// A controller's disco identity and features. `type`: the identity's type ("pc", "bot").
std::shared_ptr<disco::Info> controller_info(const std::string& type, const std::string& name);

// Serves `info` as the session's disco#info and makes its caps the initial
// presence; again after `info` changed (the responder knows its caps ver).
void announce(client::C2sSession& session, const std::shared_ptr<const disco::Info>& info);

// Both, for a controller that never changes what it announces. Call before the session starts.
void announce_controller(client::C2sSession& session, const std::string& type, const std::string& name);

}  // namespace xpmn::controller
