// The OOB application (see oob_session.hpp): one Link per session holds the
// Jingle session, its ContentTransport (primary, then maybe IBB), the TLS
// attempt and, once up, the secured stream; every end funnels through it.
#include "xmpp/jingle/oob_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

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

}  // namespace

struct OobSession::Link : ContentOwner<OobSession::Link> {
    Link(JingleManager& manager, Session::Role role, IbbStream::Options ibb)
        : ContentOwner(manager, role, ibb, "OOB session"), io(manager.io()), manager(manager), timer(io) {}

    boost::asio::io_context& io;
    JingleManager& manager;
    xtls::HandshakeParams params;
    xtls::CancelEstablish cancel_secure;
    std::shared_ptr<xtls::SecuredStream> stream;
    std::optional<client::Peer> proven;  // once secured: the peer as TLS proved it
    boost::asio::steady_timer timer;      // kPeerEndGrace
    OobHandler done;                       // initiator: once
    std::function<void(OobLink)> on_link;  // responder
    std::function<void(const std::string&)> on_security_failure;
    bool stream_closed = false, transport_flushed = false;

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

    void connected(net::ByteStreamPtr s) {
        cancel_secure = xtls::secure_stream(io, std::move(s), params,
                                            [w = weak_from_this()](Result<std::shared_ptr<xtls::SecuredStream>> r) {
                                                if (auto link = w.lock()) link->secured(std::move(r));
                                            });
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
        const auto& ibb = transport->ibb_stream();
        if (transport_flushed || !ibb || ibb->closed_by_peer()) session->terminate(Reason{"success", {}, {}});
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
        transport->cancel(stream != nullptr);
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
    auto link = std::make_shared<OobSession::Link>(manager, Session::Role::Initiator, request.ibb);
    link->params = std::move(request.params);
    link->params.role = xtls::Role::Initiator;
    link->params.method = xtls::Method::X509;
    link->done = std::move(done);
    link->wire_transport();
    link->transport->set_content(Creator::Initiator, kContentName);
    link->transport->offer(request.peer, request.transport);

    // The offer goes out once the transport has gathered its candidates;
    // until then only this callback holds the link (the transport drops it
    // on cancel, and calls it within its own timeout).
    std::weak_ptr<OobSession::Link> w = link;
    link->transport->prepare([link, w, request = std::move(request)]() mutable {
        if (!link->done) return;  // given up meanwhile
        Content content;
        content.name = kContentName;
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
            link->transport->connect();
        };
        link->session_started(link->manager.initiate(request.peer, {content}, std::move(h), request.timeout));
    });
    return [w] {
        auto link = w.lock();
        if (!link || !link->done) return;
        link->done = {};
        if (link->session) return link->session->terminate(Reason{"cancel", "the controller gave up", {}});
        link->transport->cancel(false);  // still preparing: nothing was sent
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

    auto link = std::make_shared<OobSession::Link>(manager_, Session::Role::Responder, ibb);
    link->wire_transport();
    link->transport->set_content(c->creator, c->name);
    link->transport->replace_wait = replace_wait;
    if (auto ok = link->transport->answer(session->peer().jid, *c->transport, transport); !ok)
        return refuse(ok.error().condition == "unsupported-transports" ? "unsupported-transports" : kTransportFailed,
                      ok.error().text);
    link->session_started(session);
    link->params = std::move(acceptance.params);
    link->params.role = xtls::Role::Responder;
    link->params.method = xtls::Method::X509;
    link->params.peer_fingerprint = offer->fingerprint;
    link->on_security_failure = std::move(acceptance.on_security_failure);
    link->on_link = [this, alive = std::weak_ptr<OobResponder*>(alive_)](OobLink l) {
        client::Peer peer = l.session->peer();
        if (alive.lock() && on_link_) on_link_(peer, std::move(l));
    };
    session->set_handlers(link->handlers());

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
        link->transport->connect();
    });
}

}  // namespace xpmn::jingle
