#include "tools/xpmn/discovery.hpp"

#include <algorithm>
#include <memory>
#include <set>

#include <boost/asio/steady_timer.hpp>

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::tools {

// A resource that does not answer disco#info in this time is listed without
// it: a client gone without closing its stream stays "available" while the
// server keeps its session for resumption, and must not hold up a command.
constexpr std::chrono::seconds kDiscoTimeout{4};

namespace {

// After the ping's answer, the list is taken once no presence came for
// kSettle (at most kSettleMax): Prosody sends the other resources' presence
// before it answers the ping, but ejabberd has each resource's own session
// process answer the probe, so under load they can arrive after it.
constexpr std::chrono::milliseconds kSettle{200};
constexpr std::chrono::milliseconds kSettleMax{2000};

struct Discovery : std::enable_shared_from_this<Discovery> {
    Discovery(Controller& c, std::function<void(const DeviceMap&)> done)
        : c(c), done(std::move(done)), quiet(c.io()), cap(c.io()) {}
    Controller& c;
    std::function<void(const DeviceMap&)> done;
    std::set<std::string> online;
    boost::asio::steady_timer quiet, cap;
    bool settling = false, listed = false;

    void presence_changed() {
        if (settling) wait_quiet();
    }
    void pinged() {
        settling = true;
        cap.expires_after(kSettleMax);
        cap.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->list();
        });
        wait_quiet();
    }
    void wait_quiet() {
        quiet.expires_after(kSettle);
        quiet.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->list();
        });
    }
    void list() {
        if (listed) return;
        listed = true;
        quiet.cancel();
        cap.cancel();
        auto results = std::make_shared<DeviceMap>();
        if (online.empty()) return done(*results);
        auto remaining = std::make_shared<std::size_t>(online.size());
        for (const auto& jid : online)
            client::query_disco_info(
                c.session(), jid,
                [jid, results, remaining, done = done](const client::DiscoResult& r) {
                    results->insert_or_assign(jid, r);
                    if (--*remaining == 0) done(*results);
                },
                kDiscoTimeout);
    }
};

}  // namespace

void discover_devices(Controller& c, std::function<void(const DeviceMap&)> done) {
    auto& session = c.session();
    auto d = std::make_shared<Discovery>(c, std::move(done));
    const std::string own_bare = session.jid().bare().str();
    const std::string own_full = session.jid().str();
    session.router().on_presence([w = std::weak_ptr<Discovery>(d), own_bare, own_full](const xml::Element& p) {
        auto d = w.lock();
        auto from = Jid::parse(p.attr_or("from"));
        if (!d || !from || from->bare().str() != own_bare || from->str() == own_full || from->resource().empty())
            return;
        std::string type = p.attr_or("type");
        if (type.empty())
            d->online.insert(from->str());
        else if (type == "unavailable")
            d->online.erase(from->str());
        d->presence_changed();
    });
    // The server sends the presence of the account's other resources once it
    // has handled our initial presence: a ping sent after that presence is
    // answered after them (Prosody) or about when they come (ejabberd).
    auto ping = stanza::iq("get", session.jid().domain());
    ping.add("ping", ns::ping);
    session.send_iq(std::move(ping), [d](const client::IqResponse&) { d->pinged(); });
}

static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

void resolve_device(Controller& c, const std::string& text,
                    std::function<void(Result<std::string>)> done) {
    if (text.find('/') != std::string::npos) return done(text);
    discover_devices(c, [text, done](const DeviceMap& devices) {
        std::vector<std::string> hits;
        for (const auto& [jid, info] : devices) {
            auto parsed = Jid::parse(jid);
            bool by_resource = parsed && parsed->resource() == text;
            bool by_name = false;
            if (info.ok())
                for (const auto& id : info->identities) by_name = by_name || lower(id.name) == lower(text);
            if (by_resource) return done(jid);
            if (by_name) hits.push_back(jid);
        }
        if (hits.size() == 1) return done(hits.front());
        if (hits.empty())
            return done(Error{"item-not-found", "no online device is called '" + text + "' (see: xpmn devices)"});
        std::string list;
        for (const auto& h : hits) list += "\n  " + h;
        done(Error{"conflict", "'" + text + "' is the name of several devices; use the full JID:" + list});
    });
}

void device_channel(Controller& c, const std::string& text, std::function<void(Result<DeviceChannel>)> done) {
    resolve_device(c, text, [&c, done](Result<std::string> found) {
        if (!found) return done(found.error());
        std::string jid = found.value();
        c.channel_to(jid, [jid, done](Result<ChannelPtr> channel) {
            if (!channel) return done(channel.error());
            done(DeviceChannel{jid, *channel});
        });
    });
}

}  // namespace xpmn::tools
