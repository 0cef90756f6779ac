// `xpmn players`, `xpmn control`, `xpmn open` and `xpmn status`: the
// MediaControl profile of a player device (wire profile §7) over its
// end-to-end stream.
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

#include <iostream>
#include <memory>

#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/discovery.hpp"
#include "tools/xpmn/player_text.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::tools {

namespace {

bool is_player(const disco::Info& info) {
    for (const auto& id : info.identities)
        if (id.category == "automation" && id.type == "media-player") return true;
    return false;
}

using Answer = std::function<void(const client::IqResponse&)>;

// Sends one request to the device and hands over the answer; errors end the command.
void request(Controller& c, const std::string& device, const char* type, xml::Element payload, Controller::Done done,
             std::function<void(const DeviceChannel&, const client::IqResponse&)> then) {
    device_channel(c, device, [&c, type, payload, done, then](Result<DeviceChannel> found) {
        if (!found) {
            std::cerr << "xpmn: " << found.error().text << "\n";
            return done(1);
        }
        auto iq = stanza::iq(type, found->jid);
        iq.add_child(payload);
        found->channel->router().send_iq(std::move(iq), c.request_timeout(),
                                         [dc = *found, done, then](const client::IqResponse& r) {
                                             if (!r.ok()) {
                                                 std::cerr << "xpmn: " << dc.jid << ": " << r.error().describe() << "\n";
                                                 return done(1);
                                             }
                                             then(dc, r);
                                         });
    });
}

// --follow: the latest status and controls, redrawn as events come (and each
// second while playing, extrapolated, on a terminal).
struct Follow {
    std::string jid;
    std::weak_ptr<client::PeerChannel> channel;
    std::optional<xml::Element> status, controls;
    std::chrono::steady_clock::time_point status_at;
    bool live = false, ending = false;
    std::unique_ptr<boost::asio::signal_set> signals;
    std::unique_ptr<boost::asio::steady_timer> tick;

    std::optional<double> position() const {
        auto p = status->attr("position");
        if (!p) return std::nullopt;
        double v = std::strtod(p->c_str(), nullptr);
        if (status->attr_or("state") == "playing")
            v += std::chrono::duration<double>(std::chrono::steady_clock::now() - status_at).count();
        return v;
    }
    void draw() {
        if (!status) return;
        const xml::Element* c = controls ? &*controls : nullptr;
        if (live)
            std::cout << "\r\033[K" << live_line(*status, c, position(), 30) << std::flush;
        else
            std::cout << status_line(*status, c) << std::endl;
    }
};

// Unsubscribes from both nodes, briefly and best effort (the device ends
// the subscriptions anyway when this controller leaves), then finishes.
constexpr std::chrono::seconds kUnsubscribeTimeout{3};

void end_follow(const std::shared_ptr<Follow>& f, int code, Controller::Done done, std::chrono::milliseconds wait = {}) {
    if (std::exchange(f->ending, true)) return;
    if (f->signals) f->signals->cancel();
    if (f->tick) f->tick->cancel();
    if (f->live) std::cout << "\n";
    auto channel = f->channel.lock();
    if (!channel || channel->closed() || wait == std::chrono::milliseconds{}) return done(code);
    auto left = std::make_shared<int>(2);
    for (const char* node : {ns::player_status_node, ns::player_controls_node}) {
        auto iq = stanza::iq("set", f->jid);
        iq.add(std::string("pubsub"), ns::pubsub).add("unsubscribe").set_attr("node", node);
        channel->router().send_iq(std::move(iq), wait, [left, code, done](const client::IqResponse&) {
            if (--*left == 0) done(code);
        });
    }
}

void tick(const std::shared_ptr<Follow>& f) {
    f->tick->expires_after(std::chrono::seconds(1));
    f->tick->async_wait([f](const boost::system::error_code& ec) {
        if (ec || f->ending) return;
        if (f->status && f->status->attr_or("state") == "playing") f->draw();
        tick(f);
    });
}

void subscribe(Controller& c, const std::shared_ptr<Follow>& f, const ChannelPtr& channel, const char* node,
               Controller::Done done) {
    auto iq = stanza::iq("set", f->jid);
    iq.add(std::string("pubsub"), ns::pubsub).add("subscribe").set_attr("node", node);
    channel->router().send_iq(std::move(iq), c.request_timeout(), [f, node, done](const client::IqResponse& r) {
        if (r.ok()) return;
        std::cerr << "xpmn: " << f->jid << ": subscribe to " << node << ": " << r.error().describe() << "\n";
        end_follow(f, 1, done);
    });
}

void follow(Controller& c, const DeviceChannel& dc, bool no_subscribe, Controller::Done done) {
    auto f = std::make_shared<Follow>();
    f->jid = dc.jid;
    f->channel = dc.channel;
    f->live = ::isatty(STDOUT_FILENO);
    c.watching();
    dc.channel->router().on_message([f](const xml::Element& m) {
        if (f->ending || Jid::parse(m.attr_or("from")) != Jid::parse(f->jid)) return;
        const auto* event = m.child("event", ns::pubsub_event);
        const auto* items = event ? event->child("items", ns::pubsub_event) : nullptr;
        const auto* item = items ? items->child("item", ns::pubsub_event) : nullptr;
        const auto* payload = item ? item->first_element() : nullptr;
        if (!payload) return;
        if (payload->name() == "status" && payload->ns() == ns::media_player) {
            f->status = *payload;
            f->status_at = std::chrono::steady_clock::now();
        } else if (payload->name() == "control" && payload->ns() == ns::media_control) {
            f->controls = *payload;
        } else {
            return;
        }
        f->draw();
    });
    c.on_session_lost([f, done] {
        std::cerr << "\nxpmn: the connection was lost and the device ended the subscriptions\n";
        end_follow(f, 1, done);
    });
    dc.channel->on_closed([f, done] {
        std::cerr << "\nxpmn: the stream to the device ended\n";
        end_follow(f, 1, done);
    });
    f->signals = std::make_unique<boost::asio::signal_set>(c.io(), SIGINT, SIGTERM);
    f->signals->async_wait([f, done](const boost::system::error_code& ec, int) {
        if (!ec) end_follow(f, 0, done, kUnsubscribeTimeout);
    });
    if (f->live) {
        f->tick = std::make_unique<boost::asio::steady_timer>(c.io());
        tick(f);
    }
    // Our caps ask for both nodes: the device learns them from this presence
    // (an owner's also reach it by the account's broadcast) and delivers an
    // owner's events on its own. Anyone else subscribes.
    c.send_presence_to(dc.jid);
    auto device = Jid::parse(dc.jid);
    const bool owner = c.end_to_end() && device && device->bare() == c.config().xmpp.jid.bare();
    if (owner || no_subscribe) return;
    subscribe(c, f, dc.channel, ns::player_controls_node, done);
    subscribe(c, f, dc.channel, ns::player_status_node, done);
}

}  // namespace

std::vector<std::string> follow_features() {
    return {std::string(ns::player_status_node) + "+notify", std::string(ns::player_controls_node) + "+notify"};
}

void list_players(Controller& c, Controller::Done done) {
    discover_devices(c, [&c, done](const DeviceMap& devices) {
        int n = 0;
        for (const auto& [jid, r] : devices) {
            if (!r.ok() || !is_player(*r)) continue;
            std::string name;
            for (const auto& id : r->identities)
                if (id.type == "media-player") name = id.name;
            std::cout << jid << (name.empty() ? "" : "  \"" + name + "\"") << "\n";
            ++n;
        }
        if (!n) std::cerr << "no player of " << c.session().jid().bare().str() << " is online\n";
        done(0);
    });
}

void control(Controller& c, const ControlOptions& o, Controller::Done done) {
    auto req = control_request(o.action);
    if (!req) {
        std::cerr << "xpmn: " << req.error().text << "\n";
        return done(2);
    }
    request(c, o.device, "set", req->payload, done, [done](const DeviceChannel&, const client::IqResponse&) { done(0); });
}

void open(Controller& c, const OpenOptions& o, Controller::Done done) {
    xml::Element player("player", ns::media_player);
    auto& open = player.add("open", ns::media_player);
    for (const auto& uri : o.uris) open.add_text_child("uri", uri, ns::media_player);
    request(c, o.device, "set", std::move(player), done, [done](const DeviceChannel& dc, const client::IqResponse& r) {
        const auto* item = r.payload();
        std::cout << "opened on " << dc.jid;
        if (item && item->name() == "item") std::cout << ": " << item_title(*item);
        std::cout << "\n";
        done(0);
    });
}

void status(Controller& c, const StatusOptions& o, Controller::Done done) {
    if (o.follow)  // listening before anything is asked: an owner's events may come at once
        return device_channel(c, o.device, [&c, o, done](Result<DeviceChannel> found) {
            if (!found) {
                std::cerr << "xpmn: " << found.error().text << "\n";
                return done(1);
            }
            follow(c, *found, o.no_subscribe, done);
        });
    xml::Element get("player", ns::media_player);
    get.add("status", ns::media_player);
    request(c, o.device, "get", std::move(get), done, [&c, o, done](const DeviceChannel& dc, const client::IqResponse& r) {
        const auto* s = r.payload();
        if (!s || s->name() != "status") {
            std::cerr << "xpmn: " << dc.jid << " answered without a <status/>\n";
            return done(1);
        }
        if (o.xml) {
            std::cout << s->to_string() << "\n";
            return done(0);
        }
        auto iq = stanza::iq("get", dc.jid);
        iq.add(std::string("control"), ns::media_control);
        dc.channel->router().send_iq(std::move(iq), c.request_timeout(),
                                     [status = *s, done](const client::IqResponse& cr) {
                                         const xml::Element* controls = cr.ok() ? cr.payload() : nullptr;
                                         std::cout << status_line(status, controls) << "\n";
                                         done(0);
                                     });
    });
}

}  // namespace xpmn::tools
