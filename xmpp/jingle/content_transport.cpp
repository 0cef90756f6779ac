#include "xmpp/jingle/content_transport.hpp"

#include <spdlog/spdlog.h>

#include "xmpp/jingle/ibb_transport.hpp"

namespace xpmn::jingle {

namespace {

bool is_ibb(const xml::Element& transport) { return transport.ns() == kIbbTransportNs; }

}  // namespace

ContentTransport::ContentTransport(JingleManager& manager, Session::Role role, IbbStream::Options ibb, std::string what)
    : manager_(manager), role_(role), ibb_options_(ibb), what_(std::move(what)), timer_(manager.io()) {}

ContentTransport::~ContentTransport() {
    if (transport_) transport_->cancel();
}

TransportContext ContentTransport::context() {
    return TransportContext{manager_, session_ ? session_->peer().jid : Jid{},
                            [w = weak_from_this()](xml::Element t) {
                                if (auto self = w.lock()) self->send_info(std::move(t));
                            }};
}

void ContentTransport::offer(const Jid& peer, const OfferTransport& offer) {
    TransportContext ctx = context();
    ctx.peer = peer;
    if (offer) transport_ = offer(ctx);
    if (!transport_) transport_ = IbbTransport::offer(manager_.ibb(), peer, ibb_options_);
    on_ibb_ = is_ibb(transport_->element());
}

Result<void> ContentTransport::answer(const Jid& peer, const xml::Element& offered, const AnswerTransport& answer) {
    if (is_ibb(offered)) {
        auto t = IbbTransport::answer(manager_.ibb(), peer, offered, ibb_options_);
        if (!t) return Error{kTransportFailed, t.error().text};
        transport_ = *t;
        on_ibb_ = true;
        return {};
    }
    if (!answer) return Error{"unsupported-transports", "only " + std::string(kIbbTransportNs) + " is offered"};
    TransportContext ctx = context();
    ctx.peer = peer;
    auto t = answer(ctx, offered);
    if (!t)  // a Jingle reason, not the stanza error condition
        return Error{t.error().condition == "unsupported-transports" ? "unsupported-transports" : kTransportFailed,
                     t.error().text};
    transport_ = *t;
    return {};
}

void ContentTransport::started(SessionPtr session) {
    session_ = std::move(session);
    for (auto& t : std::exchange(early_info_, {})) send_info(std::move(t));
}

void ContentTransport::install(Session::Handlers& h) {
    std::weak_ptr<ContentTransport> w = weak_from_this();
    h.on_transport_info = [w](const Jingle& j) {
        if (auto self = w.lock()) self->transport_info(j);
    };
    if (role_ == Session::Role::Initiator)
        h.on_transport_answer = [w](const Jingle& j) {
            if (auto self = w.lock()) self->replace_answered(j);
        };
    else
        h.on_transport_replace = [w](const Jingle& j) {
            if (auto self = w.lock()) self->replace_requested(j);
        };
}

void ContentTransport::send_action(Action action, xml::Element transport, client::IqCallback reply) {
    Jingle j;
    j.action = action;
    Content c;
    c.creator = creator_;
    c.name = name_;
    c.transport = std::move(transport);
    j.contents.push_back(std::move(c));
    session_->send(std::move(j), std::move(reply));
}

void ContentTransport::send_info(xml::Element transport) {
    if (!session_) return early_info_.push_back(std::move(transport));
    if (ended()) return;
    send_action(Action::TransportInfo, std::move(transport));
}

void ContentTransport::fail(const std::string& text) {
    if (events_.failed) events_.failed(Reason{kTransportFailed, text, {}}, Error{kTransportFailed, text});
}

void ContentTransport::transport_info(const Jingle& j) {
    const Content* c = nullptr;
    for (const auto& content : j.contents)
        if (content.name == name_) c = &content;
    if (!c && !j.contents.empty()) c = &j.contents[0];
    if (!c || !c->transport || !transport_) return;
    if (auto ok = transport_->info(*c->transport); !ok)
        spdlog::info("{} {}: transport-info not taken: {}", what_, session_->sid(), ok.error().describe());
}

void ContentTransport::connect() {
    // Weak both: the transport keeps this handler until it connects, so a
    // strong reference would make a cycle that outlives an endpoint torn
    // down mid-connect (a controller that exits on a timeout).
    transport_->connect([w = weak_from_this(), t = std::weak_ptr<Transport>(transport_)](Result<net::ByteStreamPtr> r) {
        auto self = w.lock();
        if (!self || self->ended() || self->transport_ != t.lock()) return;
        if (!r) return self->connect_failed(r.error());
        self->connected_ = true;
        self->ibb_stream_ = std::dynamic_pointer_cast<IbbStream>(*r);
        if (self->ibb_stream_)
            self->ibb_stream_->set_finished_handler([w] {
                if (auto s = w.lock(); s && s->events_.flushed) s->events_.flushed();
            });
        if (self->events_.connected) self->events_.connected(*r);
    });
}

// XEP-0260 §2.4: the initiator replaces a failed primary with IBB; the
// responder waits for that transport-replace.
void ContentTransport::connect_failed(const Error& error) {
    if (on_ibb_ || primary_failed_) {
        if (events_.failed) events_.failed(Reason{kTransportFailed, error.text, {}}, error);
        return;
    }
    primary_failed_ = true;
    spdlog::info("{} {}: the primary transport failed ({}), {}", what_, session_->sid(), error.describe(),
                 role_ == Session::Role::Responder ? "waiting for the IBB fallback" : "falling back to IBB");
    if (role_ == Session::Role::Responder) {
        timer_.expires_after(replace_wait);
        timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
            if (auto self = w.lock(); self && !ec && !self->on_ibb_ && !self->ended())
                self->fail("the primary transport failed and no IBB fallback came");
        });
        return;
    }
    transport_->cancel();
    auto ibb = IbbTransport::offer(manager_.ibb(), session_->peer().jid, ibb_options_);
    transport_ = ibb;
    send_action(Action::TransportReplace, ibb->element(), [w = weak_from_this()](const client::IqResponse& r) {
        if (auto self = w.lock(); self && !r.ok() && !self->ended())
            self->fail("the transport-replace to IBB was refused: " + r.failure->describe());
    });
}

void ContentTransport::replace_answered(const Jingle& j) {
    const Content* c = j.contents.empty() ? nullptr : &j.contents[0];
    if (j.action != Action::TransportAccept || !c || !c->transport)
        return fail("the responder rejected the IBB fallback");
    if (auto ok = transport_->accepted(*c->transport); !ok) return fail(ok.error().text);
    on_ibb_ = true;
    connect();
}

void ContentTransport::replace_requested(const Jingle& j) {
    const Content* c = j.contents.empty() ? nullptr : &j.contents[0];
    auto reject = [&](const std::string& why) {
        spdlog::info("{} {}: transport-replace rejected: {}", what_, session_->sid(), why);
        Jingle r;
        r.action = Action::TransportReject;
        r.contents = j.contents;
        session_->send(std::move(r));
    };
    if (!c || !c->transport || !is_ibb(*c->transport)) return reject("only a fallback to IBB is taken");
    if (on_ibb_ || connected_) return reject("the transport is already connected or IBB");
    auto ibb = IbbTransport::answer(manager_.ibb(), session_->peer().jid, *c->transport, ibb_options_);
    if (!ibb) return reject(ibb.error().text);
    timer_.cancel();
    transport_->cancel();
    transport_ = *ibb;
    on_ibb_ = true;
    send_action(Action::TransportAccept, (*ibb)->element());
    connect();
}

void ContentTransport::cancel(bool handed_out) {
    timer_.cancel();
    if (transport_) transport_->cancel();
    if (ibb_stream_ && !handed_out) ibb_stream_->abort();
}

}  // namespace xpmn::jingle
