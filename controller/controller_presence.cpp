#include "controller/controller_presence.hpp"

#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::controller {

std::shared_ptr<disco::Info> controller_info(const std::string& type, const std::string& name) {
    auto info = std::make_shared<disco::Info>();
    info->identities.push_back({"client", type, "", name});
    info->features = {ns::disco_info, ns::ping, "urn:xmpp:xpmn:controller:0"};
    return info;
}

void announce(client::C2sSession& session, const std::shared_ptr<const disco::Info>& info) {
    client::serve_disco(session.router(), info);
    session.set_initial_presence(client::caps_presence(*info));
}

void announce_controller(client::C2sSession& session, const std::string& type, const std::string& name) {
    announce(session, controller_info(type, name));
}

}  // namespace xpmn::controller
