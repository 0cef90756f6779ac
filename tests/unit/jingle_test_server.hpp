// An in-memory "XMPP server" for the Jingle/IBB unit tests: routers
// registered under full JIDs, whose senders stamp `from` (as a server does)
// and deliver to the addressee's router from a posted task, in order. A
// request to nobody is bounced with service-unavailable, as a server would.
// Tests can watch (`tap`) or drop (`drop`) stanzas on the way.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xmpp/client/stanza_router.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::jingletest {

class MemoryServer {
public:
    explicit MemoryServer(boost::asio::io_context& io) : io_(io) {}

    // A new router for `full_jid`, connected to this server.
    client::StanzaRouter& connect(const std::string& full_jid) {
        auto jid = Jid::must_parse(full_jid);
        auto& router = *(routers_[jid.str()] = std::make_unique<client::StanzaRouter>(io_));
        router.set_account(jid.bare().str(), jid.domain());
        router.set_sender([this, from = jid.str()](xml::Element e) { route(from, std::move(e)); });
        return router;
    }
    void disconnect(const std::string& full_jid) { routers_.erase(Jid::must_parse(full_jid).str()); }

    // Sent from `from` (stamped) to its `to`, as a server routes it.
    void route(const std::string& from, xml::Element e) {
        e.set_attr("from", from);
        ++routed;
        if (tap) tap(e);
        if (drop && drop(e)) return;
        boost::asio::post(io_, [this, e = std::move(e)] { deliver(e); });
    }

    std::function<void(const xml::Element&)> tap;
    std::function<bool(const xml::Element&)> drop;
    std::size_t routed = 0;

private:
    void deliver(const xml::Element& e) {
        auto it = routers_.find(e.attr_or("to"));
        if (it != routers_.end()) return it->second->dispatch(e);
        std::string type = e.attr_or("type");
        if (e.name() == "iq" && (type == "get" || type == "set")) {
            auto bounce = stanza::error_reply(e, "service-unavailable", "no such resource");
            bounce.set_attr("from", e.attr_or("to"));
            boost::asio::post(io_, [this, bounce] { deliver(bounce); });
        }
    }

    boost::asio::io_context& io_;
    std::map<std::string, std::unique_ptr<client::StanzaRouter>> routers_;
};

}  // namespace xpmn::jingletest
