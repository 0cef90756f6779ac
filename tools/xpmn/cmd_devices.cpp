// `xpmn devices`: the account's other online resources, from presence, each
// with its disco identity and features.
#include <iostream>

#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/discovery.hpp"
#include "xmpp/client/disco_service.hpp"

namespace xpmn::tools {

namespace {

std::string describe(const disco::Info& info) {
    std::string out;
    for (const auto& id : info.identities) {
        out += "  " + id.category + "/" + id.type;
        if (!id.name.empty()) out += " \"" + id.name + "\"";
    }
    out += "\n    features:";
    for (const auto& f : info.features) out += " " + f;
    return out;
}

}  // namespace

void list_devices(Controller& c, Controller::Done done) {
    discover_devices(c, [&c, done](const DeviceMap& devices) {
        if (devices.empty()) {
            std::cerr << "no other resource of " << c.session().jid().bare().str() << " is online\n";
            return done(0);
        }
        for (const auto& [jid, r] : devices)
            std::cout << jid << (r.ok() ? describe(*r) : "  (disco#info failed: " + r.error().describe() + ")") << "\n";
        done(0);
    });
}

void show_disco(Controller& c, const std::string& text, Controller::Done done) {
    std::string jid = c.resolve_jid(text);
    if (!Jid::parse(jid)) {
        std::cerr << "xpmn: '" << text << "' is not a valid JID\n";
        done(2);
        return;
    }
    client::query_disco_info(c.session(), jid, [jid, done](const client::DiscoResult& r) {
        if (!r.ok()) {
            std::cerr << "xpmn: disco#info of " << jid << " failed: " << r.error().describe() << "\n";
            done(1);
            return;
        }
        std::cout << jid << "\n";
        for (const auto& id : r->identities)
            std::cout << "identity " << id.category << "/" << id.type << (id.name.empty() ? "" : " \"" + id.name + "\"")
                      << "\n";
        for (const auto& f : r->features) std::cout << "feature " << f << "\n";
        done(0);
    });
}

}  // namespace xpmn::tools
