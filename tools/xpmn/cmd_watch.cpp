// `xpmn watch`: watch one container of a media server (wire profile §5,
// browse with subscribe='true') and print a line per change until --count
// changes came or SIGINT/SIGTERM; then unsubscribe.
#include <boost/asio/signal_set.hpp>

#include <ctime>
#include <iostream>
#include <memory>
#include <utility>

#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/discovery.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::tools {

namespace {

constexpr const char* kServerNs = "urn:xmpp:media:server:0";
constexpr const char* kPubsubNs = "http://jabber.org/protocol/pubsub";
constexpr const char* kEventNs = "http://jabber.org/protocol/pubsub#event";
constexpr const char* kMetadataNs = "urn:xmpp:media:metadata:0";

std::string now_text() {
    std::time_t t = std::time(nullptr);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
    return buf;
}

struct Watch {
    std::string jid, node;
    unsigned seen = 0;
    bool ending = false;
    std::unique_ptr<boost::asio::signal_set> signals;
};

// Unsubscribes (best effort, bounded by the session's IQ timeout) and finishes.
void end(Controller& c, const std::shared_ptr<Watch>& w, int code, Controller::Done done) {
    if (w->ending) return;
    w->ending = true;
    if (w->signals) w->signals->cancel();
    auto iq = stanza::iq("set", w->jid);
    iq.add(std::string("pubsub"), kPubsubNs).add("unsubscribe").set_attr("node", w->node);
    c.session().send_iq(std::move(iq), [code, done](const client::IqResponse& r) {
        if (!r.ok) std::cerr << "xpmn: unsubscribe: " << r.condition << "\n";
        done(code);
    });
}

}  // namespace

void watch(Controller& c, const WatchOptions& o, Controller::Done done) {
    resolve_device(c, o.device, [&c, o, done](const std::string& jid, const std::string& error) {
        if (!error.empty()) {
            std::cerr << "xpmn: " << error << "\n";
            return done(1);
        }
        auto iq = stanza::iq("get", jid);
        auto& b = iq.add(std::string("browse"), kServerNs);
        b.set_attr("id", o.id);
        b.set_attr("max", "0");
        b.set_attr("subscribe", "true");
        c.session().send_iq(std::move(iq), [&c, o, done, jid](const client::IqResponse& r) {
            const auto* result = r.ok ? r.payload() : nullptr;
            if (!r.ok || !result || !result->attr("node")) {
                std::cerr << "xpmn: " << jid << ": "
                          << (r.ok ? "answered without a watch node" : r.condition + (r.text.empty() ? "" : ": " + r.text))
                          << "\n";
                return done(1);
            }
            auto w = std::make_shared<Watch>();
            w->jid = jid;
            w->node = *result->attr("node");
            c.watching();  // from now on the command runs until it is told to stop
            std::cout << "watching container " << o.id << " of " << jid << " (" << result->attr_or("total", "?")
                      << " children, update-id " << result->attr_or("update-id", "?") << "); Ctrl-C ends"
                      << std::endl;
            c.session().router().on_message([&c, o, done, w](const xml::Element& m) {
                if (w->ending || m.attr_or("from") != w->jid) return;
                const auto* event = m.child("event", kEventNs);
                const auto* items = event ? event->child("items", kEventNs) : nullptr;
                if (!items || items->attr_or("node") != w->node) return;
                for (const auto* item : items->elements()) {
                    const auto* container = item->child("container", kMetadataNs);
                    if (!container) continue;
                    std::cout << now_text() << " container " << container->attr_or("id", "?") << " changed, update-id "
                              << container->attr_or("update-id", "?") << std::endl;
                    if (o.count && ++w->seen >= o.count) return end(c, w, 0, done);
                }
            });
            c.on_session_lost([w, done] {
                if (std::exchange(w->ending, true)) return;
                if (w->signals) w->signals->cancel();
                std::cerr << "xpmn: the connection was lost and the device ended the watch\n";
                done(1);
            });
            w->signals = std::make_unique<boost::asio::signal_set>(c.io(), SIGINT, SIGTERM);
            w->signals->async_wait([&c, w, done](const boost::system::error_code& ec, int) {
                if (!ec) end(c, w, 0, done);
            });
        });
    });
}

}  // namespace xpmn::tools
