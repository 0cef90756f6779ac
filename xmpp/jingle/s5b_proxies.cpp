#include "xmpp/jingle/s5b_proxies.hpp"

#include <boost/asio/post.hpp>

#include <charconv>
#include <stdexcept>

#include "xmpp/core/disco_info.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::jingle {

namespace asio = boost::asio;

std::shared_ptr<S5bProxies> S5bProxies::create(asio::io_context& io, client::StanzaRouter& router,
                                               std::string server_domain, std::chrono::milliseconds timeout) {
    return std::shared_ptr<S5bProxies>(new S5bProxies(io, router, std::move(server_domain), timeout));
}

S5bProxies::S5bProxies(asio::io_context& io, client::StanzaRouter& router, std::string domain,
                       std::chrono::milliseconds timeout)
    : io_(io), router_(router), domain_(std::move(domain)), timeout_(timeout), timer_(io) {}

void S5bProxies::get(Handler done) {
    if (found_) {
        asio::post(io_, [done = std::move(done), found = *found_] { done(found); });
        return;
    }
    waiting_.push_back(std::move(done));
    if (!running_) discover();
}

void S5bProxies::discover() {
    running_ = true;
    ++round_;
    gathering_.clear();
    outstanding_ = 0;
    timer_.expires_after(timeout_);
    timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (!ec && self && self->running_) self->finish();  // out of time: what we have
    });
    auto iq = stanza::iq("get", domain_);
    iq.add("query", ns::disco_items);
    ask(std::move(iq), [this](const client::IqResponse& r) { on_items(r); });
}

// Sends one request of the current round; `then` runs only while the round lasts.
void S5bProxies::ask(xml::Element iq, std::function<void(const client::IqResponse&)> then) {
    ++outstanding_;
    router_.send_iq(std::move(iq), timeout_,
                    [w = weak_from_this(), round = round_, then = std::move(then)](const client::IqResponse& r) {
                        auto self = w.lock();
                        if (!self || !self->running_ || round != self->round_) return;
                        --self->outstanding_;
                        then(r);
                        if (self->running_ && self->outstanding_ == 0) self->finish();
                    });
}

void S5bProxies::on_items(const client::IqResponse& r) {
    if (!r.ok() || !r.payload()) return;  // no disco on the server: no proxies
    std::size_t n = 0;
    for (const auto* item : r.payload()->children("item", ns::disco_items)) {
        if (n++ == kMaxDiscoItems) break;
        std::string jid = item->attr_or("jid");
        if (!Jid::parse(jid)) continue;
        auto iq = stanza::iq("get", jid);
        iq.add("query", ns::disco_info);
        ask(std::move(iq), [this, jid](const client::IqResponse& r) { on_info(jid, r); });
    }
}

void S5bProxies::on_info(const std::string& jid, const client::IqResponse& r) {
    if (!r.ok() || !r.payload()) return;
    bool proxy = false;
    try {
        for (const auto& id : disco::from_element(*r.payload()).identities)
            proxy = proxy || (id.category == "proxy" && id.type == "bytestreams");
    } catch (const std::invalid_argument&) {
        return;  // a malformed disco#info: not a proxy we can trust to work
    }
    if (!proxy) return;
    auto iq = stanza::iq("get", jid);
    iq.add("query", kBytestreamsNs);
    ask(std::move(iq), [this](const client::IqResponse& r) { on_streamhost(r); });
}

void S5bProxies::on_streamhost(const client::IqResponse& r) {
    if (!r.ok() || !r.payload()) return;
    for (const auto* sh : r.payload()->children("streamhost", kBytestreamsNs)) {
        S5bStreamhost h{sh->attr_or("jid"), sh->attr_or("host"), 0};
        std::string port = sh->attr_or("port", "1080");
        unsigned p = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) continue;
        if (!Jid::parse(h.jid) || h.host.empty() || h.host.size() > kMaxS5bHost) continue;
        h.port = static_cast<std::uint16_t>(p);
        gathering_.push_back(std::move(h));
        return;  // one streamhost per proxy
    }
}

void S5bProxies::finish() {
    running_ = false;
    ++round_;  // answers still on their way are ignored
    timer_.cancel();
    found_ = std::move(gathering_);
    gathering_.clear();
    auto waiting = std::move(waiting_);
    waiting_.clear();
    // Never from inside get() or a router callback's caller's own call.
    asio::post(io_, [waiting = std::move(waiting), found = *found_] {
        for (const auto& done : waiting) done(found);
    });
}

}  // namespace xpmn::jingle
