#include "xmpp/client/c2s_session.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <spdlog/spdlog.h>

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/net/xmpp_connector.hpp"
#include "xmpp/sasl/sasl_client.hpp"
#include "xmpp/stream/xml_stream.hpp"
#include "xmpp/tls/tls_stream.hpp"

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
      reconnect_timer_(io),
      ping_timer_(io),
      rng_(std::random_device{}()) {
    if (config_.tls.server_name.empty()) config_.tls.server_name = config_.jid.domain();
    tls_ctx_ = tls::make_client_context(config_.tls);  // throws on bad CA file / key: before connecting
    router_.set_account(config_.jid.bare().str(), config_.jid.domain());
    // XEP-0199: always answered, by every session.
    router_.on_iq("get", ns::ping, "ping", [](const Peer&, const xml::Element&, IqResponder r) { r.result(); });
}

C2sSession::~C2sSession() {
    reconnect_timer_.cancel();
    ping_timer_.cancel();
    if (connector_) connector_->cancel();
}

void C2sSession::start() {
    std::weak_ptr<C2sSession> weak = weak_from_this();
    router_.set_sender([weak](xml::Element e) {
        if (auto s = weak.lock()) s->send(std::move(e));
    });
    connect();
}

void C2sSession::connect() {
    state_ = State::Connecting;
    stage_ = Stage::PreTls;
    if (config_.host.empty())
        spdlog::info("[{}] connecting to {} (DNS SRV, else port {})", tag_, config_.jid.domain(), config_.port);
    else
        spdlog::info("[{}] connecting to {}:{}", tag_, config_.host, config_.port);
    std::weak_ptr<C2sSession> weak = weak_from_this();
    connector_ = net::connect_xmpp(
        io_, config_.jid.domain(), config_.host, config_.port,
        [weak](std::shared_ptr<net::TcpStream> tcp, const std::string& error) {
            auto self = weak.lock();
            if (!self || self->state_ != State::Connecting) return;
            self->connector_.reset();
            if (!tcp) {
                self->lost(error);
                return;
            }
            self->stream_ = std::make_shared<stream::XmlStream>(tcp);
            std::weak_ptr<C2sSession> w = self;
            self->stream_->set_handlers({
                nullptr,
                [w](xml::Element e) {
                    if (auto s = w.lock()) s->on_element(std::move(e));
                },
                [w](const std::string& reason) {
                    if (auto s = w.lock()) s->lost(reason);
                },
            });
            self->stream_->start();
            self->open_stream();
        });
}

void C2sSession::open_stream() {
    std::map<std::string, std::string> attrs{
        {"to", config_.jid.domain()}, {"version", "1.0"}, {"xml:lang", "en"}};
    if (stage_ != Stage::PreTls) attrs["from"] = config_.jid.bare().str();  // RFC 6120 §4.7.1: only once secured
    stream_->open(attrs);
    state_ = State::Features;
}

void C2sSession::on_element(xml::Element e) {
    if (e.ns() == ns::stream && e.name() == "features") return on_features(e);
    if (e.ns() == ns::stream && e.name() == "error") {
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
        return;  // the server closes the stream next
    }
    if (e.ns() == ns::tls) {
        if (e.name() == "proceed" && state_ == State::StartTls) {
            // Leave the parser/transport callbacks before swapping the transport.
            asio::post(io_, [w = weak_from_this()] {
                if (auto s = w.lock()) s->start_tls();
            });
        } else {
            fail_connection("the server refused STARTTLS");
        }
        return;
    }
    if (e.ns() == ns::sasl) return on_sasl(e);
    if (e.ns() == ns::sm) return on_sm(e);
    if (!stanza::is_stanza(e)) {
        spdlog::debug("[{}] ignoring unexpected element {{{}}}{}", tag_, e.ns(), e.name());
        return;
    }
    if (sm_.active()) sm_.received();
    router_.dispatch(e);
}

void C2sSession::on_features(const xml::Element& f) {
    switch (stage_) {
        case Stage::PreTls:
            if (!f.child("starttls", ns::tls)) {
                fail_connection("the server does not offer STARTTLS, which is mandatory");
                return;
            }
            state_ = State::StartTls;
            write_raw(xml::Element("starttls", ns::tls));
            return;
        case Stage::PostTls: {
            const auto* mechs = f.child("mechanisms", ns::sasl);
            std::vector<std::string> offered;
            if (mechs)
                for (const auto* m : mechs->children("mechanism", ns::sasl)) {
                    const auto& allowed = config_.sasl_mechanisms;
                    if (allowed.empty() || std::find(allowed.begin(), allowed.end(), m->text()) != allowed.end())
                        offered.push_back(m->text());
                }
            sasl::Credentials cred{config_.jid.local(), {}, config_.password, config_.jid.domain(),
                                   !config_.tls.client_cert.empty()};
            auto mech = sasl::choose_mechanism(offered, cred, true);
            if (!mech) {
                std::string list;
                for (auto& m : offered) list += (list.empty() ? "" : ", ") + m;
                fail_connection("no usable SASL mechanism among the server's: " + (list.empty() ? "(none)" : list));
                return;
            }
            try {
                sasl_ = sasl::SaslClient::create(*mech, cred);
            } catch (const std::exception& ex) {
                fail_connection(std::string("SASL: ") + ex.what());
                return;
            }
            auto step = sasl_->start();
            if (step.state == sasl::Step::State::Error) {
                fail_connection("SASL " + *mech + ": " + step.error);
                return;
            }
            spdlog::info("[{}] authenticating with {}", tag_, *mech);
            xml::Element auth("auth", ns::sasl);
            auth.set_attr("mechanism", *mech);
            auth.add_text(step.response_base64);
            state_ = State::Sasl;
            write_raw(auth);
            return;
        }
        case Stage::PostAuth:
            sm_offered_ = f.child("sm", ns::sm) != nullptr;
            if (sm_offered_ && sm_.resumable()) {
                xml::Element resume("resume", ns::sm);
                resume.set_attr("h", std::to_string(sm_.inbound()));
                resume.set_attr("previd", sm_.id());
                state_ = State::Resuming;
                write_raw(resume);
                return;
            }
            bind();
            return;
    }
}

void C2sSession::start_tls() {
    if (state_ != State::StartTls || !stream_) return;
    auto tcp = stream_->transport_ptr();  // TLS wraps it; the XML stream then reads TLS
    tls::PeerCheck check{config_.tls.server_name,
                         config_.tls.pinned_sha256.empty() ? std::string()
                                                           : tls::normalize_fingerprint(config_.tls.pinned_sha256)};
    std::shared_ptr<tls::TlsStream> tls;
    try {
        tls = std::make_shared<tls::TlsStream>(tcp, tls_ctx_, tls::TlsStream::Role::Client, check);
    } catch (const std::exception& ex) {
        fail_connection(ex.what());
        return;
    }
    std::weak_ptr<C2sSession> weak = weak_from_this();
    tls->handshake([weak, tls](const std::string& error) {
        auto self = weak.lock();
        if (!self || self->state_ != State::StartTls) return;
        if (!error.empty()) {
            self->fail_connection("TLS with " + self->config_.tls.server_name + ": " + error);
            return;
        }
        spdlog::info("[{}] TLS established ({})", self->tag_, tls->protocol_version());
        self->stage_ = Stage::PostTls;
        self->stream_->replace_transport(tls);
        self->open_stream();
    });
}

void C2sSession::on_sasl(const xml::Element& e) {
    if (state_ != State::Sasl || !sasl_) {
        fail_connection("unexpected SASL element " + e.name());
        return;
    }
    if (e.name() == "challenge") {
        auto step = sasl_->step(e.text());
        if (step.state == sasl::Step::State::Error) {
            write_raw(xml::Element("abort", ns::sasl));
            fail_connection("SASL " + sasl_->mechanism() + ": " + step.error);
            return;
        }
        xml::Element resp("response", ns::sasl);
        resp.add_text(step.response_base64);
        write_raw(resp);
    } else if (e.name() == "success") {
        if (!sasl_->finish(e.text())) {
            fail_connection("SASL " + sasl_->mechanism() + ": the server's final message is not authentic");
            return;
        }
        spdlog::info("[{}] authenticated", tag_);
        sasl_.reset();
        stage_ = Stage::PostAuth;
        stream_->restart();
        open_stream();
    } else if (e.name() == "failure") {
        std::string cond;
        for (const auto* c : e.elements())
            if (c->name() != "text") cond = c->name();
        std::string text = e.child_text("text", ns::sasl);
        std::string hint = cond == "not-authorized" ? " (wrong user name or password?)" : "";
        fail_connection("authentication as " + config_.jid.bare().str() + " failed: " + cond + hint +
                        (text.empty() ? "" : ": " + text));
    }
}

void C2sSession::bind() {
    state_ = State::Binding;
    sm_.reset_counters();
    sm_.disable();
    auto iq = stanza::iq("set");
    auto& b = iq.add("bind", ns::bind);
    if (!config_.jid.resource().empty()) b.add_text_child("resource", config_.jid.resource());
    std::weak_ptr<C2sSession> weak = weak_from_this();
    iq.set_attr("id", "bind-1");
    // Bound before anything else may be sent: answered through the router directly.
    router_.send_iq(std::move(iq), config_.iq_timeout, [weak](const IqResponse& r) {
        auto self = weak.lock();
        if (!self || self->state_ != State::Binding) return;
        if (!r.ok) {
            self->fail_connection("resource binding failed: " + r.condition + (r.text.empty() ? "" : ": " + r.text));
            return;
        }
        const auto* bind = r.stanza.child("bind", ns::bind);
        auto jid = bind ? Jid::parse(bind->child_text("jid", ns::bind)) : std::nullopt;
        if (!jid) {
            self->fail_connection("the server bound no valid JID");
            return;
        }
        // EXTERNAL authenticates whoever the certificate names: make sure it is our account.
        if (jid->bare() != self->config_.jid.bare()) {
            self->fail_connection("the server logged us in as " + jid->bare().str() + ", not as the configured " +
                                  self->config_.jid.bare().str());
            return;
        }
        self->bound_ = *jid;
        if (jid->resource() != self->config_.jid.resource())
            spdlog::warn("[{}] the server bound resource '{}' instead", self->tag_, jid->resource());
        self->router_.set_account(jid->bare().str(), jid->domain());
        if (self->sm_offered_) {
            xml::Element enable("enable", ns::sm);
            enable.set_attr("resume", "true");
            self->state_ = State::Enabling;
            self->write_raw(enable);
        } else {
            self->go_online(false);
        }
    });
}

void C2sSession::on_sm(const xml::Element& e) {
    const std::string& n = e.name();
    if (n == "r") {
        xml::Element a("a", ns::sm);
        a.set_attr("h", std::to_string(sm_.inbound()));
        write_raw(a);
    } else if (n == "a") {
        std::uint32_t h = 0;
        try {
            h = static_cast<std::uint32_t>(std::stoul(e.attr_or("h")));
        } catch (...) {
            fail_connection("stream management: invalid h in <a/>");
            return;
        }
        if (!sm_.acknowledge(h)) {
            stream_->close("undefined-condition", "h acknowledges more stanzas than were sent");
            lost("the server acknowledged more stanzas than were sent");
        }
    } else if (n == "enabled" && state_ == State::Enabling) {
        sm_.enabled(e.attr_or("id"), e.attr_or("resume") == "true" || e.attr_or("resume") == "1");
        spdlog::info("[{}] stream management enabled{}", tag_, sm_.resumable() ? " (resumable)" : "");
        go_online(false);
    } else if (n == "resumed" && state_ == State::Resuming) {
        std::uint32_t h = static_cast<std::uint32_t>(std::strtoul(e.attr_or("h").c_str(), nullptr, 10));
        if (!sm_.acknowledge(h)) spdlog::warn("[{}] resumed with an impossible h={}", tag_, h);
        auto unacked = sm_.take_unacked();
        spdlog::info("[{}] session resumed; resending {} unacknowledged stanza(s)", tag_, unacked.size());
        state_ = State::Online;
        for (auto& s : unacked) write_stanza(std::move(s));
        go_online(true);
    } else if (n == "failed") {
        if (state_ == State::Resuming) {
            if (auto h = e.attr("h")) sm_.acknowledge(static_cast<std::uint32_t>(std::strtoul(h->c_str(), nullptr, 10)));
            resend_after_bind_ = sm_.take_unacked();
            if (!resend_after_bind_.empty())
                spdlog::warn("[{}] resumption refused; {} unacknowledged stanza(s) will be sent again in a new "
                             "session (the server may have handled some already)",
                             tag_, resend_after_bind_.size());
            else
                spdlog::info("[{}] resumption refused; starting a new session", tag_);
            sm_.disable();
            bind();
        } else if (state_ == State::Enabling) {
            spdlog::warn("[{}] the server refused stream management", tag_);
            sm_.disable();
            go_online(false);
        }
    }
}

void C2sSession::go_online(bool resumed) {
    state_ = State::Online;
    if (!conflict_) attempt_ = 0;
    conflict_ = false;
    spdlog::info("[{}] online as {}{}", tag_, bound_.str(), resumed ? " (resumed)" : "");
    if (!resumed) {
        if (initial_presence_) write_stanza(*initial_presence_);
        if (config_.request_roster) {
            auto iq = stanza::iq("get");
            iq.add("query", ns::roster);
            send_iq(std::move(iq), [w = weak_from_this()](const IqResponse& r) {
                auto s = w.lock();
                if (!s || !r.ok) return;
                s->roster_.clear();
                if (const auto* q = r.stanza.child("query", ns::roster))
                    for (const auto* item : q->children("item", ns::roster)) s->roster_.push_back(item->attr_or("jid"));
                spdlog::debug("[{}] roster has {} item(s)", s->tag_, s->roster_.size());
            });
        }
        auto resend = std::move(resend_after_bind_);
        resend_after_bind_.clear();
        for (auto& s : resend) write_stanza(std::move(s));
    }
    auto queued = std::move(offline_queue_);
    offline_queue_.clear();
    for (auto& s : queued) write_stanza(std::move(s));
    schedule_ping();
    if (events_.on_online) events_.on_online(resumed);
}

void C2sSession::send(xml::Element stanza) {
    if (state_ == State::Stopped) return;
    if (state_ == State::Online) {
        write_stanza(std::move(stanza));
    } else if (state_ == State::Binding && stanza.attr_or("id") == "bind-1") {
        write_raw(stanza);  // the bind request itself
    } else {
        offline_queue_.push_back(std::move(stanza));
    }
}

void C2sSession::send_iq(xml::Element iq, IqCallback callback, std::optional<std::chrono::milliseconds> timeout) {
    router_.send_iq(std::move(iq), timeout.value_or(config_.iq_timeout), std::move(callback));
}

void C2sSession::write_stanza(xml::Element stanza) {
    sm_.sent(stanza);
    write_raw(stanza);
    if (sm_.active()) request_ack_soon();
}

void C2sSession::write_raw(const xml::Element& e) {
    if (stream_) stream_->send(e);
}

// One <r/> per burst of stanzas, sent once the burst is written.
void C2sSession::request_ack_soon() {
    if (ack_requested_) return;
    ack_requested_ = true;
    asio::post(io_, [w = weak_from_this()] {
        auto s = w.lock();
        if (!s) return;
        s->ack_requested_ = false;
        if (s->state_ == State::Online && s->sm_.active()) s->write_raw(xml::Element("r", ns::sm));
    });
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
                if (r.condition == "remote-server-timeout" && !r.stanza.attr("from")) {
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
    sasl_.reset();
    if (connector_) connector_->cancel(), connector_.reset();
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
    if (connector_) connector_->cancel(), connector_.reset();
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
