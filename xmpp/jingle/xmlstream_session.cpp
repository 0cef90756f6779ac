#include "xmpp/jingle/xmlstream_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "xmpp/jingle/ibb_transport.hpp"

namespace xpmn::jingle {

namespace {

bool has(const std::vector<xtls::Method>& methods, xtls::Method m) {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
}

// x509 when both sides name it, else srp when both do: the rule both ends apply.
std::optional<xtls::Method> choose(const std::vector<xtls::Method>& initiator, const std::vector<xtls::Method>& responder) {
    for (auto m : {xtls::Method::X509, xtls::Method::Srp})
        if (has(initiator, m) && has(responder, m)) return m;
    return std::nullopt;
}

const Content* xmlstream_content(const std::vector<Content>& contents) {
    for (const auto& c : contents)
        if (c.description && c.description->ns() == kXmlStreamNs) return &c;
    return nullptr;
}

// What the initiator's caller learns from a session that ended before its channel was up.
Error error_for(const Reason& reason) {
    std::string text = "the Jingle session ended (" + reason.condition + (reason.text.empty() ? "" : ": " + reason.text) + ")";
    if (reason.condition == "security-error") return Error{"security-error", text};
    if (reason.condition == "timeout") return Error{"remote-server-timeout", text};
    return Error{"service-unavailable", text};
}

// One xmlstream session: its Jingle session, IBB transport and, once up, the channel.
struct Link : std::enable_shared_from_this<Link> {
    Link(boost::asio::io_context& io, SessionPtr session, std::shared_ptr<IbbTransport> transport)
        : io(io), session(std::move(session)), transport(std::move(transport)) {}

    boost::asio::io_context& io;
    SessionPtr session;
    std::shared_ptr<IbbTransport> transport;
    IbbStreamPtr stream;
    std::shared_ptr<xtls::E2eChannel> channel;
    xtls::HandshakeParams params;
    xtls::StreamEnds ends;
    xtls::CancelEstablish cancel_establish;  // while TLS is being negotiated
    xtls::ChannelHandler done;  // initiator: once
    XmlStreamResponder::ChannelListener on_channel;  // responder
    std::function<void(const std::string&)> on_security_failure;
    bool channel_closed = false, stream_finished = false;

    Session::Handlers handlers() {
        Session::Handlers h;
        h.on_ended = [self = shared_from_this()](const Reason& r, bool by_peer) { self->session_ended(r, by_peer); };
        return h;
    }

    void report(Result<std::shared_ptr<xtls::E2eChannel>> result) {
        if (auto d = std::exchange(done, {})) d(std::move(result));
    }

    // Gives up before the channel is up: the peer hears `reason`, the caller `error`.
    void fail(const Reason& reason, const Error& error) {
        spdlog::info("xmlstream session {} with {} failed: {}", session->sid(), session->peer().jid.str(), error.describe());
        report(error);
        session->terminate(reason);
    }

    void connect() {
        transport->connect([w = weak_from_this()](Result<net::ByteStreamPtr> r) {
            auto self = w.lock();
            if (!self || self->session->state() == Session::State::Ended) return;
            if (!r) return self->fail(Reason{"failed-transport", r.error().text, {}}, r.error());
            self->stream = std::dynamic_pointer_cast<IbbStream>(*r);
            self->stream->set_finished_handler([w] {
                if (auto s = w.lock()) s->transport_finished();
            });
            self->cancel_establish = xtls::establish(self->io, *r, self->params, self->ends,
                                                     [w](Result<std::shared_ptr<xtls::E2eChannel>> c) {
                                                         if (auto s = w.lock()) s->established(std::move(c));
                                                     });
        });
    }

    void established(Result<std::shared_ptr<xtls::E2eChannel>> r) {
        cancel_establish = {};
        if (session->state() == Session::State::Ended) {
            if (r) (*r)->close();
            return;
        }
        if (!r) {
            if (r.error().condition == "security-error" && on_security_failure) on_security_failure(r.error().text);
            bool security = r.error().condition == "security-error";
            return fail(Reason{security ? "security-error" : "failed-transport", r.error().text, {}}, r.error());
        }
        channel = *r;
        channel->on_closed([w = weak_from_this()] {
            if (auto s = w.lock()) s->closed();
        });
        if (on_channel) on_channel(channel);
        report(channel);
    }

    // The channel ended (either side): session-terminate once the transport has flushed.
    void closed() {
        channel_closed = true;
        if (stream_finished || !stream) session->terminate(Reason{"success", {}, {}});
    }
    void transport_finished() {
        stream_finished = true;
        if (channel_closed) session->terminate(Reason{"success", {}, {}});
    }

    void session_ended(const Reason& reason, bool by_peer) {
        if (by_peer) spdlog::debug("xmlstream session {} ended by the peer: {}", session->sid(), reason.condition);
        report(error_for(reason));
        if (channel) {
            // XEP-0047's <close/> came first: all the peer sent is here, maybe
            // held below a reader paused for back-pressure. Closing the channel
            // now would drop it; the end of the bytestream ends the channel
            // right after that data instead (TLS close_notify or EOF).
            if (by_peer && reason.condition == "success" && stream && stream->closed_by_peer())
                return channel->read_to_end();
            return channel->close();
        }
        // A handshake under way is dropped (its transport aborted with it).
        if (auto cancel = std::exchange(cancel_establish, {})) return cancel();
        transport->cancel();
        if (stream) stream->abort();
    }
};

}  // namespace

void open_xmlstream(JingleManager& manager, OpenXmlStream request, xtls::ChannelHandler done) {
    IbbStream::Options ibb;
    ibb.block_size = request.block_size;
    auto transport = IbbTransport::offer(manager.ibb(), request.peer, ibb);
    Content content;
    content.name = "xmlstream";
    content.description = xml::Element("description", kXmlStreamNs);
    content.transport = transport->element();
    content.security = xtls::make_security(request.offer);

    // The session needs the link's handlers, the link needs the session: the
    // handlers forward to a link made right after.
    auto link_slot = std::make_shared<std::shared_ptr<Link>>();
    Session::Handlers h;
    h.on_accepted = [link_slot, offer = request.offer](const Jingle& accept) {
        auto link = *link_slot;
        const Content* c = xmlstream_content(accept.contents);
        if (!c || !c->transport) {
            Error e{"bad-request", "the session-accept has no xmlstream content with a transport"};
            return link->fail(Reason{"failed-transport", e.text, {}}, e);
        }
        if (!c->security) {
            Error e{"security-error", "the responder sent no <security/>"};
            return link->fail(Reason{"security-error", e.text, {}}, e);
        }
        auto theirs = xtls::parse_security(*c->security);
        if (!theirs) return link->fail(Reason{"security-error", theirs.error().text, {}}, Error{"security-error", theirs.error().text});
        auto method = choose(offer.methods, theirs->methods);
        if (!method || (*method == xtls::Method::X509 && theirs->fingerprint.empty())) {
            Error e{"security-error", "no security method both sides accept"};
            return link->fail(Reason{"security-error", e.text, {}}, e);
        }
        if (auto ok = link->transport->accepted(*c->transport); !ok)
            return link->fail(Reason{"failed-transport", ok.error().text, {}}, ok.error());
        link->params.method = *method;
        link->params.peer_fingerprint = theirs->fingerprint;
        // Informative: both sides derive the method from the two <security/> elements.
        Jingle info;
        info.action = Action::SecurityInfo;
        Content named;
        named.name = c->name;
        named.security = xtls::make_security(xtls::Security{{}, {*method}});
        info.contents.push_back(std::move(named));
        link->session->send(std::move(info));
        link->connect();
    };
    h.on_ended = [link_slot](const Reason& r, bool by_peer) {
        if (auto link = *link_slot) link->session_ended(r, by_peer);
    };
    auto session = manager.initiate(request.peer, {content}, std::move(h), request.timeout);
    auto link = std::make_shared<Link>(manager.io(), session, transport);
    link->params = std::move(request.params);
    link->params.role = xtls::Role::Initiator;
    link->ends = xtls::StreamEnds{manager.self(), request.peer};
    link->done = std::move(done);
    *link_slot = link;
    // Once the session ends its handlers go, and with them the link (unless a
    // channel or transport callback still holds it).
}

XmlStreamResponder::XmlStreamResponder(JingleManager& manager, xtls::Security ours, AcceptPolicy policy,
                                       ChannelListener on_channel)
    : manager_(manager), ours_(std::move(ours)), policy_(std::move(policy)), on_channel_(std::move(on_channel)) {
    manager_.on_application(kXmlStreamNs, [alive = std::weak_ptr<XmlStreamResponder*>(alive_)](
                                              SessionPtr session, const Jingle& initiate) {
        if (auto self = alive.lock()) return (*self)->incoming(session, initiate);
        session->terminate(Reason{"unsupported-applications", "end-to-end streams are not offered here any more", {}});
    });
}

XmlStreamResponder::~XmlStreamResponder() { manager_.on_application(kXmlStreamNs, nullptr); }

void XmlStreamResponder::incoming(const SessionPtr& session, const Jingle& initiate) {
    const Content* c = xmlstream_content(initiate.contents);
    auto refuse = [&](const char* condition, std::string why) {
        spdlog::info("xmlstream session from {} refused: {}", session->peer().describe(), why);
        session->terminate(Reason{condition, std::move(why), {}});
    };
    if (!c->transport || c->transport->ns() != kIbbTransportNs)
        return refuse("unsupported-transports", "only " + std::string(kIbbTransportNs) + " is offered");
    if (!c->security) return refuse("security-error", "an end-to-end stream must be secured with XTLS");
    auto offer = xtls::parse_security(*c->security);
    if (!offer) return refuse("security-error", offer.error().text);
    Acceptance acceptance = policy_(session->peer(), *offer);
    auto method = choose(offer->methods, acceptance.methods);
    if (!method) return refuse("security-error", "no offered security method is acceptable for this peer");
    if (*method == xtls::Method::X509 && offer->fingerprint.empty())
        return refuse("security-error", "x509 needs the initiator's fingerprint");
    auto transport = IbbTransport::answer(manager_.ibb(), session->peer().jid, *c->transport, ibb);
    if (!transport) return refuse("failed-transport", transport.error().text);

    auto link = std::make_shared<Link>(manager_.io(), session, *transport);
    link->params = std::move(acceptance.params);
    link->params.role = xtls::Role::Responder;
    link->params.method = *method;
    link->params.peer_fingerprint = offer->fingerprint;
    link->ends = xtls::StreamEnds{manager_.self(), session->peer().jid};
    link->on_channel = on_channel_;
    link->on_security_failure = std::move(acceptance.on_security_failure);
    session->set_handlers(link->handlers());

    Content answer;
    answer.creator = c->creator;
    answer.name = c->name;
    answer.description = *c->description;
    answer.transport = (*transport)->element();
    answer.security = xtls::make_security(xtls::Security{ours_.fingerprint, acceptance.methods});
    session->accept({answer});
    link->connect();
}

}  // namespace xpmn::jingle
