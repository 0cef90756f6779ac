// `xpmn devices`: the account's other online resources, from presence, each
// with its disco identity and features.
#include <iostream>
#include <map>
#include <set>

#include "tools/xpmn/commands.hpp"
#include "xmpp/client/disco_service.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

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
    auto& session = c.session();
    auto online = std::make_shared<std::set<std::string>>();
    const std::string own_bare = session.jid().bare().str();
    const std::string own_full = session.jid().str();
    session.router().on_presence([online, own_bare, own_full](const xml::Element& p) {
        auto from = Jid::parse(p.attr_or("from"));
        if (!from || from->bare().str() != own_bare || from->str() == own_full || from->resource().empty()) return;
        std::string type = p.attr_or("type");
        if (type.empty())
            online->insert(from->str());
        else if (type == "unavailable")
            online->erase(from->str());
    });
    // The server sends the presence of the account's other resources as soon
    // as it has handled our initial presence, so once it answers a ping sent
    // after that presence, the list is complete.
    auto ping = stanza::iq("get", session.jid().domain());
    ping.add("ping", ns::ping);
    session.send_iq(std::move(ping), [&c, &session, online, done](const client::IqResponse&) {
        if (online->empty()) {
            std::cerr << "no other resource of " << session.jid().bare().str() << " is online\n";
            done(0);
            return;
        }
        auto results = std::make_shared<std::map<std::string, std::string>>();
        auto remaining = std::make_shared<std::size_t>(online->size());
        for (const auto& jid : *online) {
            client::query_disco_info(session, jid, [jid, results, remaining, done](const client::DiscoResult& r) {
                (*results)[jid] = r.ok ? describe(r.info) : "  (disco#info failed: " + r.error + ")";
                if (--*remaining) return;
                for (const auto& [j, line] : *results) std::cout << j << line << "\n";
                done(0);
            });
        }
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
        if (!r.ok) {
            std::cerr << "xpmn: disco#info of " << jid << " failed: " << r.error << "\n";
            done(1);
            return;
        }
        std::cout << jid << "\n";
        for (const auto& id : r.info.identities)
            std::cout << "identity " << id.category << "/" << id.type << (id.name.empty() ? "" : " \"" + id.name + "\"")
                      << "\n";
        for (const auto& f : r.info.features) std::cout << "feature " << f << "\n";
        done(0);
    });
}

}  // namespace xpmn::tools
