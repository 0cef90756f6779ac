#include "xmpp/client/c2s_negotiation.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <spdlog/spdlog.h>

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/net/xmpp_connector.hpp"
#include "xmpp/sasl/sasl_client.hpp"
#include "xmpp/tls/tls_stream.hpp"

namespace xpmn::client {

namespace asio = boost::asio;

namespace {
constexpr const char* kBindId = "bind-1";

C2sNegotiation::Outcome failure(std::string reason) { return Error{"remote-server-not-found", std::move(reason)}; }
}  // namespace

C2sNegotiation::C2sNegotiation(asio::io_context& io, const SessionConfig& config, tls::SslCtxPtr tls_ctx,
                               StreamManagement& sm, stream::XmlStream::Handlers stream_handlers, Done done)
    : io_(io),
      config_(config),
      tag_(config.jid.str()),
      tls_ctx_(std::move(tls_ctx)),
      sm_(sm),
      stream_handlers_(std::move(stream_handlers)),
      done_(std::move(done)),
      bound_(config.jid),
      bind_timer_(io) {}

C2sNegotiation::~C2sNegotiation() {
    if (connector_) connector_->cancel();
}

void C2sNegotiation::start() {
    if (config_.host.empty())
        spdlog::info("[{}] connecting to {} (DNS SRV, else port {})", tag_, config_.jid.domain(), config_.port);
    else
        spdlog::info("[{}] connecting to {}:{}", tag_, config_.host, config_.port);
    std::weak_ptr<C2sNegotiation> weak = weak_from_this();
    connector_ = net::connect_xmpp(io_, config_.jid.domain(), config_.host, config_.port,
                                   [weak](Result<std::shared_ptr<net::TcpStream>> tcp) {
                                       if (auto self = weak.lock()) self->on_connected(std::move(tcp));
                                   });
}

void C2sNegotiation::on_connected(Result<std::shared_ptr<net::TcpStream>> tcp) {
    if (state_ != State::Connecting) return;
    connector_.reset();
    if (!tcp) return finish(failure(tcp.error().text));
    stream_ = std::make_shared<stream::XmlStream>(std::move(tcp).value());
    stream_->set_handlers(stream_handlers_);
    stream_->start();
    open_stream();
}

void C2sNegotiation::open_stream() {
    std::map<std::string, std::string> attrs{
        {"to", config_.jid.domain()}, {"version", "1.0"}, {"xml:lang", "en"}};
    if (stage_ != Stage::PreTls) attrs["from"] = config_.jid.bare().str();  // RFC 6120 §4.7.1: only once secured
    stream_->open(attrs);
    state_ = State::Features;
}

bool C2sNegotiation::on_element(const xml::Element& e) {
    if (state_ == State::Done) return false;
    if (e.ns() == ns::stream && e.name() == "features") {
        on_features(e);
    } else if (e.ns() == ns::tls) {
        if (e.name() == "proceed" && state_ == State::StartTls) {
            // Leave the parser/transport callbacks before swapping the transport.
            asio::post(io_, [w = weak_from_this()] {
                if (auto s = w.lock()) s->start_tls();
            });
        } else {
            fail("the server refused STARTTLS");
        }
    } else if (e.ns() == ns::sasl) {
        on_sasl(e);
    } else if (e.ns() == ns::sm) {
        return on_sm(e);
    } else if (state_ == State::Binding && e.ns() == ns::client && e.name() == "iq" &&
               e.attr_or("id") == kBindId && (e.attr_or("type") == "result" || e.attr_or("type") == "error")) {
        on_bound(e);
    } else {
        return false;
    }
    return true;
}

void C2sNegotiation::on_closed(const std::string& reason) {
    if (state_ == State::Done) return;
    finish(failure(reason));
}

void C2sNegotiation::on_features(const xml::Element& f) {
    switch (stage_) {
        case Stage::PreTls:
            if (!f.child("starttls", ns::tls)) {
                fail("the server does not offer STARTTLS, which is mandatory");
                return;
            }
            state_ = State::StartTls;
            write(xml::Element("starttls", ns::tls));
            return;
        case Stage::PostTls:
            start_sasl(f);
            return;
        case Stage::PostAuth:
            sm_offered_ = f.child("sm", ns::sm) != nullptr;
            if (sm_offered_ && sm_.resumable()) request_resume();
            else bind();
            return;
    }
}

void C2sNegotiation::start_tls() {
    if (state_ != State::StartTls || !stream_) return;
    auto tcp = stream_->transport_ptr();  // TLS wraps it; the XML stream then reads TLS
    tls::PeerCheck check{config_.tls.server_name,
                         config_.tls.pinned_sha256.empty() ? std::string()
                                                           : tls::normalize_fingerprint(config_.tls.pinned_sha256)};
    std::shared_ptr<tls::TlsStream> tls;
    try {
        tls = std::make_shared<tls::TlsStream>(tcp, tls_ctx_, tls::TlsStream::Role::Client, check);
    } catch (const std::exception& ex) {
        fail(ex.what());
        return;
    }
    std::weak_ptr<C2sNegotiation> weak = weak_from_this();
    tls->handshake([weak, tls](Result<void> secured) {
        auto self = weak.lock();
        if (!self || self->state_ != State::StartTls) return;
        if (!secured) {
            self->fail("TLS with " + self->config_.tls.server_name + ": " + secured.error().text);
            return;
        }
        spdlog::info("[{}] TLS established ({})", self->tag_, tls->protocol_version());
        self->stage_ = Stage::PostTls;
        self->stream_->replace_transport(tls);
        self->open_stream();
    });
}

void C2sNegotiation::start_sasl(const xml::Element& f) {
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
        fail("no usable SASL mechanism among the server's: " + (list.empty() ? "(none)" : list));
        return;
    }
    try {
        sasl_ = sasl::SaslClient::create(*mech, cred);
    } catch (const std::exception& ex) {
        fail(std::string("SASL: ") + ex.what());
        return;
    }
    auto step = sasl_->start();
    if (step.state == sasl::Step::State::Error) {
        fail("SASL " + *mech + ": " + step.error);
        return;
    }
    spdlog::info("[{}] authenticating with {}", tag_, *mech);
    xml::Element auth("auth", ns::sasl);
    auth.set_attr("mechanism", *mech);
    auth.add_text(step.response_base64);
    state_ = State::Sasl;
    write(auth);
}

void C2sNegotiation::on_sasl(const xml::Element& e) {
    if (state_ != State::Sasl || !sasl_) {
        fail("unexpected SASL element " + e.name());
        return;
    }
    if (e.name() == "challenge") {
        auto step = sasl_->step(e.text());
        if (step.state == sasl::Step::State::Error) {
            write(xml::Element("abort", ns::sasl));
            fail("SASL " + sasl_->mechanism() + ": " + step.error);
            return;
        }
        xml::Element resp("response", ns::sasl);
        resp.add_text(step.response_base64);
        write(resp);
    } else if (e.name() == "success") {
        if (!sasl_->finish(e.text())) {
            fail("SASL " + sasl_->mechanism() + ": the server's final message is not authentic");
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
        fail("authentication as " + config_.jid.bare().str() + " failed: " + cond + hint +
             (text.empty() ? "" : ": " + text));
    }
}

void C2sNegotiation::request_resume() {
    xml::Element resume("resume", ns::sm);
    resume.set_attr("h", std::to_string(sm_.inbound()));
    resume.set_attr("previd", sm_.id());
    state_ = State::Resuming;
    write(resume);
}

void C2sNegotiation::bind() {
    state_ = State::Binding;
    // Left over when the old session could not even be offered for resumption.
    if (std::size_t n = sm_.new_session())
        spdlog::warn("[{}] {} unacknowledged stanza(s) of the previous session will be sent again in the new one "
                     "(the server may have handled some already)",
                     tag_, n);
    auto iq = stanza::iq("set", {}, kBindId);
    auto& b = iq.add("bind", ns::bind);
    if (!config_.jid.resource().empty()) b.add_text_child("resource", config_.jid.resource());
    write(iq);
    bind_timer_.expires_after(config_.iq_timeout);
    bind_timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (ec || !self || self->state_ != State::Binding) return;
        self->fail("resource binding failed: remote-server-timeout: no response within the timeout");
    });
}

void C2sNegotiation::on_bound(const xml::Element& r) {
    bind_timer_.cancel();
    if (r.attr_or("type") != "result") {
        std::string text = stanza::error_text(r);
        fail("resource binding failed: " + stanza::error_condition(r) + (text.empty() ? "" : ": " + text));
        return;
    }
    const auto* bind = r.child("bind", ns::bind);
    auto jid = bind ? Jid::parse(bind->child_text("jid", ns::bind)) : std::nullopt;
    if (!jid) {
        fail("the server bound no valid JID");
        return;
    }
    // EXTERNAL authenticates whoever the certificate names: make sure it is our account.
    if (jid->bare() != config_.jid.bare()) {
        fail("the server logged us in as " + jid->bare().str() + ", not as the configured " +
             config_.jid.bare().str());
        return;
    }
    bound_ = *jid;
    if (jid->resource() != config_.jid.resource())
        spdlog::warn("[{}] the server bound resource '{}' instead", tag_, jid->resource());
    if (!sm_offered_) return succeed(false);
    xml::Element enable("enable", ns::sm);
    enable.set_attr("resume", "true");
    state_ = State::Enabling;
    write(enable);
}

bool C2sNegotiation::on_sm(const xml::Element& e) {
    const std::string& n = e.name();
    if (n == "enabled" && state_ == State::Enabling) {
        sm_.enabled(e.attr_or("id"), e.attr_or("resume") == "true" || e.attr_or("resume") == "1");
        spdlog::info("[{}] stream management enabled{}", tag_, sm_.resumable() ? " (resumable)" : "");
        succeed(false);
    } else if (n == "resumed" && state_ == State::Resuming) {
        auto h = parse_sm_h(e.attr_or("h"));
        if (!h || !sm_.acknowledge(*h)) {
            // The same protocol error as in <a/>: see C2sSession::on_sm.
            fail(lying_h_error(tag_, "<resumed/>", e.attr_or("h"), sm_), "undefined-condition");
            return true;
        }
        succeed(true);
    } else if (n == "failed" && state_ == State::Resuming) {
        std::optional<std::uint32_t> h;
        if (auto text = e.attr("h")) h = parse_sm_h(*text);
        std::size_t n_resend = sm_.resume_failed(h);
        if (n_resend)
            spdlog::warn("[{}] resumption refused; {} unacknowledged stanza(s) will be sent again in a new "
                         "session (the server may have handled some already)",
                         tag_, n_resend);
        else
            spdlog::info("[{}] resumption refused; starting a new session", tag_);
        bind();
    } else if (n == "failed" && state_ == State::Enabling) {
        spdlog::warn("[{}] the server refused stream management", tag_);
        sm_.disable();
        succeed(false);
    } else {
        return false;  // acks and ack requests: the session's
    }
    return true;
}

void C2sNegotiation::write(const xml::Element& e) {
    if (stream_) stream_->send(e);
}

void C2sNegotiation::succeed(bool resumed) {
    finish(Online{stream_, bound_, resumed});
}

void C2sNegotiation::fail(const std::string& reason, const std::string& condition) {
    if (stream_) stream_->close(condition, condition.empty() ? std::string() : reason);
    finish(failure(reason));
}

void C2sNegotiation::finish(Outcome outcome) {
    if (state_ == State::Done) return;
    state_ = State::Done;
    bind_timer_.cancel();
    sasl_.reset();
    if (connector_) connector_->cancel(), connector_.reset();
    if (outcome.ok()) {
        stream_.reset();  // now the session's
    } else if (stream_) {
        // Keep the stream alive until this call stack has unwound.
        asio::post(io_, [old = std::move(stream_)] {});
    }
    if (auto d = std::move(done_)) d(std::move(outcome));
}

void C2sNegotiation::cancel() {
    if (state_ == State::Done) return;
    done_ = nullptr;
    if (stream_) stream_->close();
    finish(failure("cancelled"));
}

}  // namespace xpmn::client
