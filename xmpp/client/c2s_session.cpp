#include "xmpp/client/c2s_session.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <spdlog/spdlog.h>

#include "xmpp/client/c2s_negotiation.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/stream/xml_stream.hpp"

namespace xpmn::client {

namespace asio = boost::asio;

std::shared_ptr<C2sSession> C2sSession::create(asio::io_context& io, SessionConfig config) {
    return std::shared_ptr<C2sSession>(new C2sSession(io, std::move(config)));
}

C2sSession::C2sSession(asio::io_context& io, SessionConfig config)
    : io_(io),
      config_(std::move(config)),
      tag_(config_.jid.str()),
      bound_(config_.jid),
      router_(io),
      // The requester's timer holds its state weakly: no call after we are gone.
      acks_(io, {config_.ack_request_every, config_.ack_request_idle},
            [this] {
                if (state_ == State::Online && sm_.active()) write_raw(xml::Element("r", ns::sm));
            }),
      reconnect_timer_(io),
      ping_timer_(io),
      rng_(std::random_device{}()) {
    if (config_.tls.server_name.empty()) config_.tls.server_name = config_.jid.domain();
    // Throws on a bad CA file / key: before connecting.
    tls_ctx_ = config_.tls_context ? config_.tls_context : tls::make_client_context(config_.tls);
    router_.set_account(config_.jid.bare().str(), config_.jid.domain());
    // XEP-0199: always answered, by every session.
    router_.on_iq("get", ns::ping, "ping", [](const Peer&, const xml::Element&, IqResponder r) { r.result(); });
}

C2sSession::~C2sSession() {
    reconnect_timer_.cancel();
    ping_timer_.cancel();
    if (negotiation_) negotiation_->cancel();
}

void C2sSession::start() {
    std::weak_ptr<C2sSession> weak = weak_from_this();
    router_.set_sender([weak](xml::Element e) {
        if (auto s = weak.lock()) s->send(std::move(e));
    });
    connect();
}

void C2sSession::connect() {
    state_ = State::Negotiating;
    std::weak_ptr<C2sSession> w = weak_from_this();
    // Everything the stream delivers comes here first, during the
    // negotiation too: it owns only the elements it recognises.
    stream::XmlStream::Handlers handlers{
        nullptr,
        [w](xml::Element e) {
            if (auto s = w.lock()) s->on_element(std::move(e));
        },
        [w](const std::string& reason) {
            if (auto s = w.lock()) s->on_stream_closed(reason);
        },
    };
    negotiation_ = std::make_shared<C2sNegotiation>(
        io_, config_, tls_ctx_, sm_, std::move(handlers), [w](C2sNegotiation::Outcome o) {
            auto s = w.lock();
            if (!s) return;
            // Called from inside the negotiation: release it once that call has unwound.
            asio::post(s->io_, [old = std::move(s->negotiation_)] {});
            if (!o) return s->lost(o.error().text);
            s->on_negotiated(std::move(o->stream), o->bound, o->resumed);
        });
    negotiation_->start();
}

void C2sSession::on_negotiated(std::shared_ptr<stream::XmlStream> stream, const Jid& bound, bool resumed) {
    stream_ = std::move(stream);
    state_ = State::Online;
    if (resumed) {
        auto unacked = sm_.take_unacked();
        spdlog::info("[{}] session resumed; resending {} unacknowledged stanza(s)", tag_, unacked.size());
        for (auto& s : unacked) write_stanza(std::move(s));
    } else {
        bound_ = bound;
        router_.set_account(bound.bare().str(), bound.domain());
    }
    go_online(resumed);
}

void C2sSession::on_element(xml::Element e) {
    if (e.ns() == ns::stream && e.name() == "error") return on_stream_error(e);
    if (state_ == State::Negotiating && negotiation_ && negotiation_->on_element(e)) return;
    if (e.ns() == ns::sm) return on_sm(e);
    if (!stanza::is_stanza(e)) {
        spdlog::debug("[{}] ignoring unexpected element {{{}}}{}", tag_, e.ns(), e.name());
        return;
    }
    if (sm_.active()) sm_.received();
    router_.dispatch(e);
}

void C2sSession::on_stream_closed(const std::string& reason) {
    if (negotiation_) negotiation_->on_closed(reason);  // ends the attempt: lost() follows
    else lost(reason);
}

void C2sSession::on_stream_error(const xml::Element& e) {
    std::string cond;
    for (const auto* c : e.elements())
        if (c->ns() == ns::streams_err && c->name() != "text") cond = c->name();
    spdlog::error("[{}] stream error from server: {} {}", tag_, cond, e.child_text("text", ns::streams_err));
    // Another client took our resource (a second bridge with the same
    // account?): do not fight over it every second.
    if (cond == "conflict") {
        spdlog::error("[{}] another connection took this resource; is a second instance running?", tag_);
        attempt_ = std::max(attempt_, 5);
        conflict_ = true;
    }
    // The server closes the stream next.
}

void C2sSession::on_sm(const xml::Element& e) {
    if (e.name() == "r") {
        xml::Element a("a", ns::sm);
        a.set_attr("h", std::to_string(sm_.inbound()));
        write_raw(a);
    } else if (e.name() == "a" && state_ == State::Online) {
        auto h = parse_sm_h(e.attr_or("h"));
        if (!h) {
            fail_connection("stream management: invalid h in <a/>");
        } else if (!sm_.acknowledge(*h)) {
            // XEP-0198 §4: a stream error. Which of our stanzas the server
            // handled is unknown, so none is resent and the session is not resumed.
            std::string why = lying_h_error(tag_, "<a/>", e.attr_or("h"), sm_);
            stream_->close("undefined-condition", why);
            lost(why);
        } else {
            acks_.acknowledged(sm_.unacked_count());
        }
    }
}

void C2sSession::go_online(bool resumed) {
    if (!conflict_) attempt_ = 0;
    conflict_ = false;
    spdlog::info("[{}] online as {}{}", tag_, bound_.str(), resumed ? " (resumed)" : "");
    if (!resumed) {
        if (initial_presence_) write_stanza(*initial_presence_);
        if (config_.request_roster) request_roster();
        for (auto& s : sm_.take_resend()) write_stanza(std::move(s));
    }
    auto queued = std::move(offline_queue_);
    offline_queue_.clear();
    for (auto& s : queued) write_stanza(std::move(s));
    schedule_ping();
    if (events_.on_online) events_.on_online(resumed);
}

void C2sSession::request_roster() {
    auto iq = stanza::iq("get");
    iq.add("query", ns::roster);
    send_iq(std::move(iq), [w = weak_from_this()](const IqResponse& r) {
        auto s = w.lock();
        if (!s || !r.ok()) return;
        s->roster_.clear();
        if (const auto* q = r.stanza.child("query", ns::roster))
            for (const auto* item : q->children("item", ns::roster)) s->roster_.push_back(item->attr_or("jid"));
        spdlog::debug("[{}] roster has {} item(s)", s->tag_, s->roster_.size());
    });
}

void C2sSession::send(xml::Element stanza) {
    if (state_ == State::Stopped) return;
    if (state_ == State::Online) write_stanza(std::move(stanza));
    else offline_queue_.push_back(std::move(stanza));
}

void C2sSession::send_iq(xml::Element iq, IqCallback callback, std::optional<std::chrono::milliseconds> timeout) {
    router_.send_iq(std::move(iq), timeout.value_or(config_.iq_timeout), std::move(callback));
}

void C2sSession::write_stanza(xml::Element stanza) {
    sm_.sent(stanza);
    write_raw(stanza);
    if (sm_.active()) acks_.sent();
}

void C2sSession::write_raw(const xml::Element& e) {
    if (stream_) stream_->send(e);
}

void C2sSession::schedule_ping() {
    if (config_.ping_interval.count() <= 0) return;
    ping_timer_.expires_after(config_.ping_interval);
    ping_timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto s = w.lock();
        if (ec || !s || s->state_ != State::Online) return;
        auto iq = stanza::iq("get", s->config_.jid.domain());
        iq.add("ping", ns::ping);
        spdlog::debug("[{}] liveness ping", s->tag_);
        auto stream = s->stream_;
        s->send_iq(
            std::move(iq),
            [w, stream](const IqResponse& r) {
                auto s = w.lock();
                if (!s || s->stream_ != stream) return;
                // Any answer, even an error, proves the connection is alive.
                if (!r.ok() && r.error().condition == "remote-server-timeout" && !r.stanza.attr("from")) {
                    // Dead, not closed: drop it without </stream:stream> so the session can resume.
                    s->stream_->abort();
                    s->lost("the server did not answer a ping; reconnecting");
                    return;
                }
                s->schedule_ping();
            },
            s->config_.ping_timeout);
    });
}

void C2sSession::fail_connection(const std::string& reason) {
    if (stream_) stream_->close();
    lost(reason);
}

void C2sSession::lost(const std::string& reason) {
    if (state_ == State::Stopped || state_ == State::Idle) return;
    bool was_online = state_ == State::Online;
    state_ = State::Idle;
    ping_timer_.cancel();
    acks_.cancel();
    // Keep the old stream alive until this call stack has unwound.
    asio::post(io_, [old = std::move(stream_)] {});
    stream_.reset();
    spdlog::warn("[{}] {}: {}", tag_, was_online ? "connection lost" : "cannot connect",
                 reason.empty() ? std::string("connection closed") : reason);
    schedule_reconnect();
    if (was_online && events_.on_offline) events_.on_offline(reason);
    if (!was_online && events_.on_connect_error) events_.on_connect_error(reason);
}

void C2sSession::schedule_reconnect() {
    // 1 s doubling to 60 s; jitter takes up to a quarter off so that many
    // sessions do not reconnect in lockstep.
    auto base = config_.backoff_min;
    for (int i = 0; i < attempt_ && base < config_.backoff_max; ++i) base *= 2;
    base = std::min(base, config_.backoff_max);
    std::uniform_real_distribution<double> jitter(0.75, 1.0);
    auto delay = std::chrono::milliseconds(static_cast<long>(base.count() * jitter(rng_)));
    ++attempt_;
    spdlog::info("[{}] reconnecting in {:.1f} s (attempt {})", tag_, delay.count() / 1000.0, attempt_);
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        if (auto s = w.lock(); s && !ec && s->state_ == State::Idle) s->connect();
    });
}

void C2sSession::stop(std::function<void()> done) {
    bool was_online = state_ == State::Online;
    state_ = State::Stopped;
    reconnect_timer_.cancel();
    ping_timer_.cancel();
    acks_.cancel();
    if (negotiation_) {
        negotiation_->cancel();  // closes its stream cleanly
        asio::post(io_, [old = std::move(negotiation_)] {});
    }
    if (stream_) {
        if (was_online) {
            xml::Element p("presence", ns::client);
            p.set_attr("type", "unavailable");
            stream_->send(p);
        }
        stream_->close();
        asio::post(io_, [old = std::move(stream_)] {});
    }
    router_.fail_pending("recipient-unavailable", "the session was stopped");
    if (was_online && events_.on_offline) events_.on_offline("stopped");
    if (done) asio::post(io_, std::move(done));
}

}  // namespace xpmn::client
