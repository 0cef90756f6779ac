#include "controller/controller_presence.hpp"

#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::controller {

void announce_controller(client::C2sSession& session, const std::string& type, const std::string& name) {
    auto info = std::make_shared<disco::Info>();
    info->identities.push_back({"client", type, "", name});
    info->features = {ns::disco_info, ns::ping, "urn:xmpp:xpmn:controller:0"};
    client::serve_disco(session.router(), info);
    session.set_initial_presence(client::caps_presence(*info));
}

}  // namespace xpmn::controller
