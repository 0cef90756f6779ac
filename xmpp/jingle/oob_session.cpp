// The OOB application (see oob_session.hpp): one Link per session holds the
// Jingle session, the transport (primary, then maybe IBB), the TLS attempt
// and, once up, the secured stream; every end funnels through it. One file
// (418 lines) on purpose: initiator and responder share the Link's state
// machine, and splitting it would put one state machine in two places.
#include "xmpp/jingle/oob_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "xmpp/jingle/ibb_transport.hpp"

namespace xpmn::jingle {

namespace {

constexpr const char* kContentName = "oob";

bool offers_x509(const std::vector<xtls::Method>& methods) {
    return std::find(methods.begin(), methods.end(), xtls::Method::X509) != methods.end();
}

const Content* oob_content(const std::vector<Content>& contents) {
    for (const auto& c : contents)
        if (c.description && c.description->ns() == kOobNs) return &c;
    return nullptr;
}

bool is_ibb(const xml::Element& transport) { return transport.ns() == kIbbTransportNs; }

}  // namespace

struct OobSession::Link : std::enable_shared_from_this<OobSession::Link> {
    Link(JingleManager& manager, Session::Role role) : io(manager.io()), manager(manager), role(role), timer(io) {}
    // Gone without the session ending through us (the endpoint went away):
    // nothing may keep trying to connect for a link nobody holds.
    ~Link() {
        if (transport) transport->cancel();
    }

    boost::asio::io_context& io;
    JingleManager& manager;
    Session::Role role;
    SessionPtr session;  // set right after it exists
    Content content;     // creator and name, for transport-info/-replace
    TransportPtr transport;
    bool on_ibb = false;        // the transport is IBB (the primary, or after the fallback)
    bool primary_failed = false;
    IbbStream::Options ibb_options;
    IbbStreamPtr ibb_stream;    // when the connected transport is IBB: its flush ends the session
    xtls::HandshakeParams params;
    xtls::CancelEstablish cancel_secure;
    std::shared_ptr<xtls::SecuredStream> stream;
    std::optional<client::Peer> proven;  // once secured: the peer as TLS proved it
    boost::asio::steady_timer timer;      // responder: waiting for transport-replace; both: kPeerEndGrace
    std::chrono::milliseconds replace_wait{15000};
    std::vector<xml::Element> early_info;  // transport-info sent before the session existed
    OobHandler done;                       // initiator: once
    std::function<void(OobLink)> on_link;  // responder
    std::function<void(const std::string&)> on_security_failure;
    bool stream_closed = false, transport_flushed = false;

    bool ended() const { return !session || session->state() == Session::State::Ended; }

    Session::Handlers handlers() {
        std::weak_ptr<Link> w = weak_from_this();
        Session::Handlers h;
        h.on_transport_info = [w](const Jingle& j) {
            if (auto self = w.lock()) self->transport_info(j);
        };
        h.on_ended = [self = shared_from_this()](const Reason& r, bool by_peer) { self->session_ended(r, by_peer); };
        return h;
    }

    TransportContext context() {
        return TransportContext{manager, session ? session->peer().jid : Jid{},
                                [w = weak_from_this()](xml::Element t) {
                                    if (auto self = w.lock()) self->send_info(std::move(t));
                                }};
    }

    void send_action(Action action, xml::Element transport, client::IqCallback reply = {}) {
        Jingle j;
        j.action = action;
        Content c;
        c.creator = content.creator;
        c.name = content.name;
        c.transport = std::move(transport);
        j.contents.push_back(std::move(c));
        session->send(std::move(j), std::move(reply));
    }
    void send_info(xml::Element transport) {
        if (!session) return early_info.push_back(std::move(transport));
        send_action(Action::TransportInfo, std::move(transport));
    }
    void session_started(SessionPtr s) {
        session = std::move(s);
        for (auto& t : std::exchange(early_info, {})) send_info(std::move(t));
    }

    void transport_info(const Jingle& j) {
        const Content* c = oob_content(j.contents) ? oob_content(j.contents) : (j.contents.empty() ? nullptr : &j.contents[0]);
        if (!c || !c->transport || !transport) return;
        if (auto ok = transport->info(*c->transport); !ok)
            spdlog::info("OOB session {}: transport-info not taken: {}", session->sid(), ok.error().describe());
    }

    void report(Result<OobLink> result) {
        if (auto d = std::exchange(done, {})) d(std::move(result));
    }

    // Gives up before the stream is up: the peer hears `reason`, the initiator's caller `error`.
    void fail(const Reason& reason, const Error& error) {
        if (ended()) return;
        spdlog::info("OOB session {} with {} failed: {}", session->sid(), session->peer().jid.str(), error.describe());
        report(error);
        session->terminate(reason);
    }
    void fail(const char* condition, std::string text) {
        fail(Reason{condition, text, {}}, Error{condition, std::move(text)});
    }

    void connect() {
        // Weak both: the transport keeps this handler until it connects, so a
        // strong reference would make a cycle that outlives an endpoint torn
        // down mid-connect (a controller that exits on a timeout).
        transport->connect([w = weak_from_this(), t = std::weak_ptr<Transport>(transport)](Result<net::ByteStreamPtr> r) {
            auto self = w.lock();
            if (!self || self->ended() || self->transport != t.lock()) return;
            if (!r) return self->connect_failed(r.error());
            self->ibb_stream = std::dynamic_pointer_cast<IbbStream>(*r);
            if (self->ibb_stream)
                self->ibb_stream->set_finished_handler([w] {
                    if (auto s = w.lock()) s->flushed();
                });
            self->cancel_secure = xtls::secure_stream(self->io, *r, self->params,
                                                      [w](Result<std::shared_ptr<xtls::SecuredStream>> s) {
                                                          if (auto link = w.lock()) link->secured(std::move(s));
                                                      });
        });
    }

    // XEP-0260 §2.4: the initiator replaces a failed primary with IBB; the
    // responder waits for that transport-replace.
    void connect_failed(const Error& error) {
        if (on_ibb || primary_failed) return fail(Reason{kTransportFailed, error.text, {}}, error);
        primary_failed = true;
        spdlog::info("OOB session {}: the primary transport failed ({}), {}", session->sid(), error.describe(),
                     role == Session::Role::Responder ? "waiting for the IBB fallback" : "falling back to IBB");
        if (role == Session::Role::Responder) {
            timer.expires_after(replace_wait);
            timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
                if (auto self = w.lock(); self && !ec && !self->on_ibb)
                    self->fail(kTransportFailed, "the primary transport failed and no IBB fallback came");
            });
            return;
        }
        transport->cancel();
        auto ibb = IbbTransport::offer(manager.ibb(), session->peer().jid, ibb_options);
        transport = ibb;
        send_action(Action::TransportReplace, ibb->element(), [w = weak_from_this()](const client::IqResponse& r) {
            if (auto self = w.lock(); self && !r.ok())
                self->fail(kTransportFailed, "the transport-replace to IBB was refused: " + r.failure->describe());
        });
    }

    // Initiator: the answer to our transport-replace.
    void replace_answered(const Jingle& j) {
        const Content* c = j.contents.empty() ? nullptr : &j.contents[0];
        if (j.action != Action::TransportAccept || !c || !c->transport)
            return fail(kTransportFailed, "the responder rejected the IBB fallback");
        if (auto ok = transport->accepted(*c->transport); !ok) return fail(kTransportFailed, ok.error().text);
        on_ibb = true;
        connect();
    }

    // Responder: the initiator's transport-replace; only IBB, only once.
    void replace_requested(const Jingle& j) {
        const Content* c = j.contents.empty() ? nullptr : &j.contents[0];
        auto reject = [&](const std::string& why) {
            spdlog::info("OOB session {}: transport-replace rejected: {}", session->sid(), why);
            Jingle r;
            r.action = Action::TransportReject;
            r.contents = j.contents;
            session->send(std::move(r));
        };
        if (!c || !c->transport || !is_ibb(*c->transport)) return reject("only a fallback to IBB is taken");
        if (on_ibb || stream || cancel_secure) return reject("the transport is already connected or IBB");
        auto ibb = IbbTransport::answer(manager.ibb(), session->peer().jid, *c->transport, ibb_options);
        if (!ibb) return reject(ibb.error().text);
        timer.cancel();
        transport->cancel();
        transport = *ibb;
        on_ibb = true;
        send_action(Action::TransportAccept, (*ibb)->element());
        connect();
    }

    void secured(Result<std::shared_ptr<xtls::SecuredStream>> r) {
        cancel_secure = {};
        if (ended()) {
            if (r) (*r)->abort();
            return;
        }
        if (!r) {
            bool security = r.error().condition == "security-error";
            if (security && on_security_failure) on_security_failure(r.error().text);
            return fail(Reason{security ? "security-error" : kTransportFailed, r.error().text, {}}, r.error());
        }
        stream = *r;
        proven = client::Peer::end_to_end_peer(session->peer().jid, stream->peer_fingerprint());
        stream->set_end_observer([w = weak_from_this()](const std::string& reason, bool by_us) {
            if (auto self = w.lock()) self->stream_ended(reason, by_us);
        });
        OobLink link{stream, std::make_shared<OobSession>(shared_from_this())};
        if (on_link) on_link(std::move(link));
        else report(std::move(link));
    }

    // The stream ended (either side): a clean end → <success/> once the transport flushed.
    void stream_ended(const std::string& reason, bool by_us) {
        if (ended()) {
            timer.cancel();  // kPeerEndGrace: the stream ended in time
            return;
        }
        if (!reason.empty()) {
            bool aborted = by_us && reason == "aborted";
            return session->terminate(Reason{aborted ? "cancel" : kTransportFailed, aborted ? "" : reason, {}});
        }
        stream_closed = true;
        if (transport_flushed || !ibb_stream || ibb_stream->closed_by_peer())
            session->terminate(Reason{"success", {}, {}});
    }
    void flushed() {
        transport_flushed = true;
        if (stream_closed && !ended()) session->terminate(Reason{"success", {}, {}});
    }

    void session_ended(const Reason& reason, bool by_peer) {
        std::string text = "the OOB session ended (" + reason.condition + (reason.text.empty() ? "" : ": " + reason.text) + ")";
        if (reason.condition == "security-error") report(Error{"security-error", text});
        else if (reason.condition == "timeout") report(Error{"remote-server-timeout", text});
        else report(Error{reason.condition == kTransportFailed ? kTransportFailed : "service-unavailable", text});
        timer.cancel();
        if (stream && !stream->ended()) {
            if (!(by_peer && reason.condition == "success")) return stream->fail(text);
            // The peer closed first: what it sent may still be on its way or
            // held below a paused reader; the stream's own end follows it.
            timer.expires_after(kPeerEndGrace);
            timer.async_wait([self = shared_from_this(), text](const boost::system::error_code& ec) {
                if (!ec) self->stream->fail(text + ", and the stream did not end in time");
            });
            return;
        }
        if (auto cancel = std::exchange(cancel_secure, {})) cancel();
        if (transport) transport->cancel();
        if (ibb_stream && !stream) ibb_stream->abort();
    }

    void close() {
        if (stream && !stream->ended()) return stream->close();  // ends the session once flushed
        if (!ended()) session->terminate(Reason{"success", {}, {}});
    }
};

void OobSession::close() { link_->close(); }
bool OobSession::ended() const { return link_->ended(); }
const client::Peer& OobSession::peer() const { return *link_->proven; }
const std::string& OobSession::sid() const { return link_->session->sid(); }

CancelOob open_oob(JingleManager& manager, OpenOob request, OobHandler done) {
    auto link = std::make_shared<OobSession::Link>(manager, Session::Role::Initiator);
    link->params = std::move(request.params);
    link->params.role = xtls::Role::Initiator;
    link->params.method = xtls::Method::X509;
    link->ibb_options = request.ibb;
    link->done = std::move(done);
    link->content.name = kContentName;
    TransportContext ctx = link->context();
    ctx.peer = request.peer;
    if (request.transport) link->transport = request.transport(ctx);
    if (!link->transport) link->transport = IbbTransport::offer(manager.ibb(), request.peer, request.ibb);
    link->on_ibb = is_ibb(link->transport->element());

    // The offer goes out once the transport has gathered its candidates;
    // until then only this callback holds the link (the transport drops it
    // on cancel, and calls it within its own timeout).
    std::weak_ptr<OobSession::Link> w = link;
    link->transport->prepare([link, w, request = std::move(request)]() mutable {
        if (!link->done) return;  // given up meanwhile
        Content content = link->content;
        content.description = xml::Element("description", kOobNs);
        content.transport = link->transport->element();
        content.security = xtls::make_security(xtls::Security{request.offer.fingerprint, {xtls::Method::X509}});

        Session::Handlers h = link->handlers();
        h.on_accepted = [w](const Jingle& accept) {
            auto link = w.lock();
            if (!link) return;
            const Content* c = oob_content(accept.contents);
            if (!c || !c->transport)
                return link->fail(kTransportFailed, "the session-accept has no OOB content with a transport");
            auto theirs = c->security ? xtls::parse_security(*c->security)
                                      : Result<xtls::Security>(Error{"security-error", "the responder sent no <security/>"});
            if (!theirs) return link->fail("security-error", theirs.error().text);
            if (!offers_x509(theirs->methods) || theirs->fingerprint.empty())
                return link->fail("security-error", "the responder does not accept x509 with its fingerprint");
            if (auto ok = link->transport->accepted(*c->transport); !ok) return link->fail(kTransportFailed, ok.error().text);
            link->params.peer_fingerprint = theirs->fingerprint;
            link->connect();
        };
        h.on_transport_answer = [w](const Jingle& j) {
            if (auto link = w.lock()) link->replace_answered(j);
        };
        link->session_started(link->manager.initiate(request.peer, {content}, std::move(h), request.timeout));
    });
    return [w] {
        auto link = w.lock();
        if (!link || !link->done) return;
        link->done = {};
        if (link->session) return link->session->terminate(Reason{"cancel", "the controller gave up", {}});
        link->transport->cancel();  // still preparing: nothing was sent
    };
}

OobResponder::OobResponder(JingleManager& manager, xtls::Security ours, AcceptPolicy policy, Listener on_link)
    : manager_(manager), ours_(std::move(ours)), policy_(std::move(policy)), on_link_(std::move(on_link)) {
    manager_.on_application(kOobNs, [alive = std::weak_ptr<OobResponder*>(alive_)](SessionPtr session,
                                                                                  const Jingle& initiate) {
        if (auto self = alive.lock()) return (*self)->incoming(session, initiate);
        session->terminate(Reason{"unsupported-applications", "out-of-band streams are not offered here any more", {}});
    });
}

OobResponder::~OobResponder() { manager_.on_application(kOobNs, nullptr); }

std::size_t OobResponder::session_count() const {
    return std::count_if(links_.begin(), links_.end(), [](const auto& kv) {
        auto link = kv.second.lock();
        return link && !link->ended();
    });
}

bool OobResponder::setting_up(const Jid& peer) const {
    auto it = links_.find(peer);
    if (it == links_.end()) return false;
    auto link = it->second.lock();
    return link && !link->ended() && !link->stream;
}

void OobResponder::incoming(const SessionPtr& session, const Jingle& initiate) {
    const Content* c = oob_content(initiate.contents);
    auto refuse = [&](const char* condition, std::string why) {
        spdlog::info("OOB session from {} refused: {}", session->peer().describe(), why);
        session->terminate(Reason{condition, std::move(why), {}});
    };
    if (!c->transport) return refuse("unsupported-transports", "the OOB content has no transport");
    if (!c->security) return refuse("security-error", "an OOB stream must be secured with XTLS");
    auto offer = xtls::parse_security(*c->security);
    if (!offer) return refuse("security-error", offer.error().text);
    if (!offers_x509(offer->methods) || offer->fingerprint.empty())
        return refuse("security-error", "an OOB stream is secured with x509 and the initiator's fingerprint only");
    Acceptance acceptance = policy_(session->peer(), *offer);
    if (!offers_x509(acceptance.methods)) return refuse("security-error", "this peer's certificate is not trusted");

    auto link = std::make_shared<OobSession::Link>(manager_, Session::Role::Responder);
    link->session_started(session);
    link->content.creator = c->creator;
    link->content.name = c->name;
    link->ibb_options = ibb;
    link->replace_wait = replace_wait;
    if (is_ibb(*c->transport)) {
        auto t = IbbTransport::answer(manager_.ibb(), session->peer().jid, *c->transport, ibb);
        if (!t) return refuse(kTransportFailed, t.error().text);
        link->transport = *t;
        link->on_ibb = true;
    } else {
        if (!transport) return refuse("unsupported-transports", "only " + std::string(kIbbTransportNs) + " is offered");
        auto t = transport(link->context(), *c->transport);
        if (!t)  // a Jingle reason, not the stanza error condition
            return refuse(t.error().condition == "unsupported-transports" ? "unsupported-transports" : kTransportFailed,
                          t.error().text);
        link->transport = *t;
    }
    link->params = std::move(acceptance.params);
    link->params.role = xtls::Role::Responder;
    link->params.method = xtls::Method::X509;
    link->params.peer_fingerprint = offer->fingerprint;
    link->on_security_failure = std::move(acceptance.on_security_failure);
    link->on_link = [this, alive = std::weak_ptr<OobResponder*>(alive_)](OobLink l) {
        client::Peer peer = l.session->peer();
        if (alive.lock() && on_link_) on_link_(peer, std::move(l));
    };
    Session::Handlers h = link->handlers();
    h.on_transport_replace = [w = std::weak_ptr<OobSession::Link>(link)](const Jingle& j) {
        if (auto l = w.lock()) l->replace_requested(j);
    };
    session->set_handlers(std::move(h));

    // One per pair: the newer session replaces an older one of this peer.
    auto& slot = links_[session->peer().jid];
    if (auto old = slot.lock(); old && !old->ended()) {
        spdlog::info("OOB session {} from {} replaces {}", session->sid(), session->peer().describe(), old->session->sid());
        old->session->terminate(Reason{"cancel", "replaced by a newer OOB session", {}});
    }
    slot = link;
    std::erase_if(links_, [](const auto& kv) { return kv.second.expired(); });

    Content answer;
    answer.creator = c->creator;
    answer.name = c->name;
    answer.description = *c->description;
    answer.security = xtls::make_security(xtls::Security{ours_.fingerprint, {xtls::Method::X509}});
    // XEP-0260: every candidate is in session-accept, so it waits for the
    // transport's (e.g. a port mapping); the session may end meanwhile.
    link->transport->prepare([w = std::weak_ptr<OobSession::Link>(link), answer = std::move(answer)]() mutable {
        auto link = w.lock();
        if (!link || link->ended()) return;
        answer.transport = link->transport->element();
        link->session->accept({answer});
        link->connect();
    });
}

}  // namespace xpmn::jingle
