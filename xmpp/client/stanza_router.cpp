#include "xmpp/client/stanza_router.hpp"

#include <spdlog/spdlog.h>

#include <random>

#include "xmpp/core/jid.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::client {

struct IqResponder::State {
    xml::Element request;
    std::function<void(xml::Element)> send;
    bool done = false;
    ~State() {
        if (!done && send) {
            spdlog::warn("IQ {} was never answered; replying internal-server-error", request.attr_or("id"));
            send(stanza::error_reply(request, "internal-server-error", "the request was dropped"));
        }
    }
};

IqResponder::IqResponder(xml::Element request, std::function<void(xml::Element)> send)
    : state_(std::make_shared<State>()) {
    // Filled in place: State has a destructor, so a temporary would be copied and answer twice.
    state_->request = std::move(request);
    state_->send = std::move(send);
}

void IqResponder::result() {
    if (state_->done) return;
    state_->done = true;
    state_->send(stanza::result_reply(state_->request));
}

void IqResponder::result(xml::Element payload) {
    if (state_->done) return;
    state_->done = true;
    state_->send(stanza::result_reply(state_->request, std::move(payload)));
}

void IqResponder::error(std::string_view condition, std::string_view text) {
    error(stanza::error_element(condition, text));
}

void IqResponder::error(xml::Element error_element) {
    if (state_->done) return;
    state_->done = true;
    state_->send(stanza::error_reply(state_->request, std::move(error_element)));
}

const xml::Element& IqResponder::request() const { return state_->request; }
bool IqResponder::answered() const { return state_->done; }

StanzaRouter::StanzaRouter(boost::asio::io_context& io) : io_(io) {
    std::random_device rd;
    id_prefix_ = std::to_string(rd() % 100000) + "-";
}

StanzaRouter::~StanzaRouter() {
    for (auto& [id, p] : pending_) p.timer->cancel();
}

void StanzaRouter::set_account(std::string bare_jid, std::string domain) {
    account_ = std::move(bare_jid);
    domain_ = std::move(domain);
    account_jid_ = Jid::parse(account_).value_or(Jid{});
}

void StanzaRouter::on_iq(std::string type, std::string ns, std::string name, IqHandler handler) {
    handlers_[{std::move(type), std::move(ns), std::move(name)}] = std::move(handler);
}

StanzaRouter::ListenerId StanzaRouter::on_presence(StanzaListener l) {
    presence_listeners_.emplace(next_listener_, std::move(l));
    return next_listener_++;
}

StanzaRouter::ListenerId StanzaRouter::on_message(StanzaListener l) {
    message_listeners_.emplace(next_listener_, std::move(l));
    return next_listener_++;
}

void StanzaRouter::remove_listener(ListenerId id) {
    presence_listeners_.erase(id);
    message_listeners_.erase(id);
}

// Listeners may add or remove listeners: each is looked up again before it runs.
static void notify(const std::map<std::uint64_t, StanzaListener>& listeners, const xml::Element& stanza) {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, l] : listeners) ids.push_back(id);
    for (auto id : ids)
        if (auto it = listeners.find(id); it != listeners.end()) {
            auto listener = it->second;  // it may remove itself while running
            listener(stanza);
        }
}

void StanzaRouter::send_iq(xml::Element iq, std::chrono::milliseconds timeout, IqCallback callback) {
    std::string id = iq.attr_or("id");
    if (id.empty() || pending_.count(id)) {
        id = id_prefix_ + std::to_string(next_id_++);
        iq.set_attr("id", id);
    }
    Pending p{iq.attr_or("to"), std::move(callback), std::make_unique<boost::asio::steady_timer>(io_, timeout),
              next_request_++};
    p.timer->async_wait([self = std::weak_ptr<StanzaRouter*>(self_), id, request = p.request](
                            const boost::system::error_code& ec) {
        auto alive = self.lock();
        if (!ec && alive) (*alive)->timed_out(id, request);
    });
    pending_.emplace(id, std::move(p));
    // Not connected yet (no sender): the request times out like an unanswered one.
    if (send_) send_(std::move(iq));
}

void StanzaRouter::timed_out(const std::string& id, std::uint64_t request) {
    // The request may have been answered (and its id reused) after the timer fired.
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.request != request) return;
    IqResponse r;
    r.failure = Error{"remote-server-timeout", "no response within the timeout"};
    r.stanza = stanza::error_reply(stanza::iq("get", {}, id), r.failure->condition, r.failure->text);
    complete(id, std::move(r));
}

void StanzaRouter::fail_pending(std::string_view condition, std::string_view text) {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, p] : pending) {
        p.timer->cancel();
        IqResponse r;
        r.failure = Error{std::string(condition), std::string(text)};
        r.stanza = stanza::error_reply(stanza::iq("get", {}, id), condition, text);
        if (p.callback) p.callback(r);
    }
}

void StanzaRouter::complete(const std::string& id, IqResponse response) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto cb = std::move(it->second.callback);
    it->second.timer->cancel();
    pending_.erase(it);
    if (cb) cb(response);
}

void StanzaRouter::dispatch(const xml::Element& stanza) {
    if (stanza.name() == "iq") {
        dispatch_iq(stanza);
    } else if (stanza.name() == "presence") {
        notify(presence_listeners_, stanza);
    } else if (stanza.name() == "message") {
        notify(message_listeners_, stanza);
    }
}

// Whether `from` is the entity a request sent to `to` may be answered by.
static bool response_from_matches(const std::string& to, const std::string& from, const std::string& account,
                                  const std::string& domain) {
    if (to.empty()) return from.empty() || from == account || from == domain;
    if (from == to) return true;
    // Compare normalised forms (the server may normalise case).
    auto a = Jid::parse(to), b = Jid::parse(from);
    return a && b && *a == *b;
}

void StanzaRouter::dispatch_iq(const xml::Element& iq) {
    std::string type = iq.attr_or("type");
    std::string id = iq.attr_or("id");
    if (type == "result" || type == "error") {
        auto it = pending_.find(id);
        if (it == pending_.end()) {
            spdlog::debug("IQ response with unknown id '{}' ignored", id);
            return;
        }
        if (!response_from_matches(it->second.to, iq.attr_or("from"), account_, domain_)) {
            spdlog::warn("IQ response id '{}' from unexpected sender '{}' ignored", id, iq.attr_or("from"));
            return;
        }
        IqResponse r;
        r.stanza = iq;
        if (type == "error") {
            r.failure = Error{stanza::error_condition(iq), stanza::error_text(iq)};
            if (r.failure->condition.empty()) r.failure->condition = "undefined-condition";
        }
        complete(id, std::move(r));
        return;
    }
    if (type != "get" && type != "set") {
        if (!id.empty()) send_(stanza::error_reply(iq, "bad-request", "unknown IQ type '" + type + "'"));
        return;
    }
    if (id.empty()) return;  // cannot be answered (RFC 6120 §8.2.3 requires an id)
    dispatch_request(iq, type);
}

void StanzaRouter::dispatch_request(const xml::Element& iq, const std::string& type) {
    auto payloads = iq.elements();
    if (payloads.size() != 1) {
        send_(stanza::error_reply(iq, "bad-request", "an IQ request carries exactly one payload"));
        return;
    }
    const xml::Element& payload = *payloads.front();
    auto h = handlers_.find({type, payload.ns(), payload.name()});
    if (h == handlers_.end()) {
        send_(stanza::error_reply(iq, "service-unavailable", unavailable_text(type, payload)));
        return;
    }
    auto peer = resolve_peer_ ? resolve_peer_(iq) : Peer::routed_by_server(iq, account_jid_);
    if (!peer) {
        send_(stanza::error_reply(iq, "jid-malformed", "the sender's address is not a valid JID"));
        return;
    }
    try {
        h->second(*peer, iq, IqResponder(iq, send_));
    } catch (const std::exception& e) {
        spdlog::error("handler for {} {} failed: {}", payload.ns(), payload.name(), e.what());
        // The responder's destructor has answered internal-server-error if needed.
    }
}

std::string StanzaRouter::unavailable_text(const std::string& type, const xml::Element& payload) const {
    bool ns_known = false;
    for (const auto& [key, handler] : handlers_) {
        const auto& [t, ns, name] = key;
        if (ns != payload.ns()) continue;
        ns_known = true;
        if (name == payload.name())
            return "<" + name + "/> of " + ns + " is answered to IQ type '" + t + "', not '" + type + "'";
    }
    if (ns_known) return "unknown element <" + payload.name() + "/> in " + payload.ns();
    return "this entity offers no service for " + (payload.ns().empty() ? "that payload" : payload.ns());
}

}  // namespace xpmn::client
