// `xpmn watch`: watch one container of a media server (wire profile §5,
// browse with subscribe='true') and print a line per change until --count
// changes came or SIGINT/SIGTERM; then unsubscribe.
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <utility>

#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/discovery.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::tools {

namespace {

std::string now_text() {
    std::time_t t = std::time(nullptr);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
    return buf;
}

struct Watch {
    std::string jid, node;
    // The device's end-to-end stream (or c2s with --no-e2e); the Controller keeps it.
    std::weak_ptr<client::PeerChannel> channel;
    unsigned seen = 0;
    bool ending = false;
    std::unique_ptr<boost::asio::signal_set> signals;
};

// Gives SIGINT/SIGTERM back their default action: a second Ctrl-C while
// ending ends the process at once.
void release_signals(Watch& w) {
    if (!w.signals) return;
    w.signals->clear();
    w.signals->cancel();
}

// Unsubscribes and finishes. Best effort, and briefly: leaving (unavailable
// presence) ends the watch on the device anyway.
constexpr std::chrono::seconds kUnsubscribeTimeout{3};

void end(Controller& c, const std::shared_ptr<Watch>& w, int code, Controller::Done done) {
    if (std::exchange(w->ending, true)) return;
    release_signals(*w);
    auto iq = stanza::iq("set", w->jid);
    iq.add(std::string("pubsub"), ns::pubsub).add("unsubscribe").set_attr("node", w->node);
    auto channel = w->channel.lock();
    if (!channel || channel->closed()) return done(code);
    channel->router().send_iq(std::move(iq), kUnsubscribeTimeout, [code, done](const client::IqResponse& r) {
        if (!r.ok()) std::cerr << "xpmn: unsubscribe: " << r.error().describe() << "\n";
        done(code);
    });
}

// Ends without unsubscribing (the device or the connection is gone).
void abandon(const std::shared_ptr<Watch>& w, const std::string& why, Controller::Done done) {
    if (std::exchange(w->ending, true)) return;
    release_signals(*w);
    std::cerr << "xpmn: " << why << "\n";
    done(1);
}

}  // namespace

void watch(Controller& c, const WatchOptions& o, Controller::Done done) {
    resolve_device(c, o.device, [&c, o, done](Result<std::string> found) {
        if (!found) {
            std::cerr << "xpmn: " << found.error().text << "\n";
            return done(1);
        }
        const std::string jid = found.value();
        c.channel_to(jid, [&c, o, done, jid](Result<ChannelPtr> found_channel) {
        if (!found_channel) {
            std::cerr << "xpmn: " << found_channel.error().text << "\n";
            return done(1);
        }
        ChannelPtr channel = *found_channel;
        auto iq = stanza::iq("get", jid);
        auto& b = iq.add(std::string("browse"), ns::media_server);
        b.set_attr("id", o.id);
        b.set_attr("max", "0");
        b.set_attr("subscribe", "true");
        channel->router().send_iq(std::move(iq), c.request_timeout(), [&c, o, done, jid, channel](
                                                                             const client::IqResponse& r) {
            const auto* result = r.ok() ? r.payload() : nullptr;
            if (!r.ok() || !result || !result->attr("node")) {
                std::cerr << "xpmn: " << jid << ": "
                          << (r.ok() ? "answered without a watch node" : r.error().describe())
                          << "\n";
                return done(1);
            }
            auto w = std::make_shared<Watch>();
            w->jid = jid;
            w->node = *result->attr("node");
            w->channel = channel;
            c.watching();  // from now on the command runs until it is told to stop
            // Events come on the channel of the watch (an end-to-end stream has
            // only the device on it; on c2s, `from` names the device).
            channel->router().on_message([&c, o, done, w](const xml::Element& m) {
                if (w->ending || Jid::parse(m.attr_or("from")) != Jid::parse(w->jid)) return;
                const auto* event = m.child("event", ns::pubsub_event);
                const auto* items = event ? event->child("items", ns::pubsub_event) : nullptr;
                if (!items || items->attr_or("node") != w->node) return;
                for (const auto* item : items->elements()) {
                    const auto* container = item->child("container", ns::media_metadata);
                    if (!container) continue;
                    std::cout << now_text() << " container " << container->attr_or("id", "?") << " changed, update-id "
                              << container->attr_or("update-id", "?") << std::endl;
                    if (o.count && ++w->seen >= o.count) return end(c, w, 0, done);
                }
            });
            c.on_session_lost([w, done] { abandon(w, "the connection was lost and the device ended the watch", done); });
            channel->on_closed([w, done] { abandon(w, "the stream to the device ended, and the watch with it", done); });
            w->signals = std::make_unique<boost::asio::signal_set>(c.io(), SIGINT, SIGTERM);
            w->signals->async_wait([&c, w, done](const boost::system::error_code& ec, int) {
                if (!ec) end(c, w, 0, done);
            });
            // Said once Ctrl-C is ours: a caller may signal as soon as it reads this.
            std::cout << "watching container " << o.id << " of " << jid << " (" << result->attr_or("total", "?")
                      << " children, update-id " << result->attr_or("update-id", "?") << "); Ctrl-C ends"
                      << std::endl;
            c.session().router().on_presence([w, done](const xml::Element& p) {
                if (!w->ending && p.attr_or("from") == w->jid && p.attr_or("type") == "unavailable")
                    abandon(w, w->jid + " went offline; the watch ended", done);
            });
        });
        });
    });
}

}  // namespace xpmn::tools
