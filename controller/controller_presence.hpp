// How a controller shows itself on its c2s session (wire profile §2): disco
// answers and caps presence saying only that it is a controller. The `xpmn`
// CLI and a bridge's own controller session (bridge/profiles/remote_items)
// announce themselves this way.
#pragma once

#include <memory>
#include <string>

#include "xmpp/client/c2s_session.hpp"

namespace xpmn::controller {

// Call before the session starts. `type`: the disco identity's type ("pc", "bot").
void announce_controller(client::C2sSession& session, const std::string& type, const std::string& name);

}  // namespace xpmn::controller
