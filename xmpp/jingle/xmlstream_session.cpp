#include "xmpp/jingle/xmlstream_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace xpmn::jingle {

namespace {

constexpr const char* kContentName = "xmlstream";

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
    // E.g. an IBB-only device refusing an S5B offer: the caller may offer IBB.
    if (reason.condition == "unsupported-transports") return Error{"feature-not-implemented", text};
    return Error{"service-unavailable", text};
}

// One xmlstream session: its Jingle session, its ContentTransport and, once up, the channel.
struct Link : ContentOwner<Link> {
    Link(JingleManager& manager, Session::Role role, IbbStream::Options ibb)
        : ContentOwner(manager, role, ibb, "xmlstream session"), io(manager.io()), timer(io) {}

    boost::asio::io_context& io;
    std::shared_ptr<xtls::E2eChannel> channel;
    xtls::HandshakeParams params;
    xtls::StreamEnds ends;
    xtls::CancelEstablish cancel_establish;  // while TLS is being negotiated
    xtls::ChannelHandler done;  // initiator: once
    XmlStreamResponder::ChannelListener on_channel;  // responder
    std::function<void(const std::string&)> on_security_failure;
    boost::asio::steady_timer timer;  // kPeerEndGrace
    bool channel_closed = false, stream_finished = false;

    void report(Result<std::shared_ptr<xtls::E2eChannel>> result) {
        if (auto d = std::exchange(done, {})) d(std::move(result));
    }

    // Gives up before the channel is up: the peer hears `reason`, the caller `error`.
    void fail(const Reason& reason, const Error& error) {
        if (ended()) return;
        spdlog::info("xmlstream session {} with {} failed: {}", session->sid(), session->peer().jid.str(), error.describe());
        report(error);
        session->terminate(reason);
    }

    void connected(net::ByteStreamPtr s) {
        cancel_establish = xtls::establish(io, std::move(s), params, ends,
                                           [w = weak_from_this()](Result<std::shared_ptr<xtls::E2eChannel>> c) {
                                               if (auto self = w.lock()) self->established(std::move(c));
                                           });
    }

    void established(Result<std::shared_ptr<xtls::E2eChannel>> r) {
        cancel_establish = {};
        if (ended()) {
            if (r) (*r)->close();
            return;
        }
        if (!r) {
            if (r.error().condition == "security-error" && on_security_failure) on_security_failure(r.error().text);
            bool security = r.error().condition == "security-error";
            return fail(Reason{security ? "security-error" : kTransportFailed, r.error().text, {}}, r.error());
        }
        channel = *r;
        channel->on_closed([w = weak_from_this()] {
            if (auto s = w.lock()) s->closed();
        });
        if (on_channel) on_channel(channel);
        report(channel);
    }

    // The channel ended (either side): session-terminate once an IBB
    // transport has flushed (S5B's bytes end with its TCP stream: at once).
    void closed() {
        channel_closed = true;
        timer.cancel();  // kPeerEndGrace: the channel ended in time
        if (stream_finished || !transport->ibb_stream()) session->terminate(Reason{"success", {}, {}});
    }
    void flushed() {
        stream_finished = true;
        if (channel_closed) session->terminate(Reason{"success", {}, {}});
    }

    void session_ended(const Reason& reason, bool by_peer) {
        if (by_peer) spdlog::debug("xmlstream session {} ended by the peer: {}", session->sid(), reason.condition);
        report(error_for(reason));
        if (channel) {
            transport->cancel(true);
            if (by_peer && reason.condition == "success" && !channel->closed()) {
                // The peer closed cleanly: all it sent is here (IBB: its
                // <close/> came first) or on its way (S5B), maybe held below a
                // reader paused for back-pressure. Closing the channel now
                // would drop it; the end of the bytestream ends the channel
                // right after that data instead (TLS close_notify or EOF).
                const auto& ibb = transport->ibb_stream();
                if (ibb && ibb->closed_by_peer()) return channel->read_to_end();
                if (!ibb) {
                    channel->read_to_end();
                    timer.expires_after(kPeerEndGrace);
                    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
                        if (!ec) self->channel->close();
                    });
                    return;
                }
            }
            return channel->close();
        }
        // A handshake under way is dropped (its transport aborted with it).
        if (auto cancel = std::exchange(cancel_establish, {})) {
            cancel();
            return transport->cancel(true);
        }
        transport->cancel(false);
    }
};

}  // namespace

void open_xmlstream(JingleManager& manager, OpenXmlStream request, xtls::ChannelHandler done) {
    IbbStream::Options ibb;
    ibb.block_size = request.block_size;
    auto link = std::make_shared<Link>(manager, Session::Role::Initiator, ibb);
    link->params = std::move(request.params);
    link->params.role = xtls::Role::Initiator;
    link->ends = xtls::StreamEnds{manager.self(), request.peer};
    link->done = std::move(done);
    link->wire_transport();
    link->transport->set_content(Creator::Initiator, kContentName);
    link->transport->offer(request.peer, request.transport);

    // The offer goes out once the transport has gathered its candidates
    // (S5B's assisted ones); until then only this callback holds the link.
    std::weak_ptr<Link> w = link;
    link->transport->prepare([link, w, &manager, request = std::move(request)]() mutable {
        if (!link->done) return;
        Content content;
        content.name = kContentName;
        content.description = xml::Element("description", kXmlStreamNs);
        content.transport = link->transport->element();
        content.security = xtls::make_security(request.offer);

        Session::Handlers h = link->handlers();
        h.on_accepted = [w, offer = request.offer](const Jingle& accept) {
            auto link = w.lock();
            if (!link) return;
            const Content* c = xmlstream_content(accept.contents);
            if (!c || !c->transport) {
                Error e{"bad-request", "the session-accept has no xmlstream content with a transport"};
                return link->fail(Reason{kTransportFailed, e.text, {}}, e);
            }
            if (!c->security) {
                Error e{"security-error", "the responder sent no <security/>"};
                return link->fail(Reason{"security-error", e.text, {}}, e);
            }
            auto theirs = xtls::parse_security(*c->security);
            if (!theirs)
                return link->fail(Reason{"security-error", theirs.error().text, {}},
                                  Error{"security-error", theirs.error().text});
            auto method = choose(offer.methods, theirs->methods);
            if (!method || (*method == xtls::Method::X509 && theirs->fingerprint.empty())) {
                Error e{"security-error", "no security method both sides accept"};
                return link->fail(Reason{"security-error", e.text, {}}, e);
            }
            if (auto ok = link->transport->accepted(*c->transport); !ok)
                return link->fail(Reason{kTransportFailed, ok.error().text, {}}, ok.error());
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
            link->transport->connect();
        };
        link->session_started(manager.initiate(request.peer, {content}, std::move(h), request.timeout));
        // Once the session ends its handlers go, and with them the link (unless a
        // channel or transport callback still holds it).
    });
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
    if (!c->transport) return refuse("unsupported-transports", "the xmlstream content has no transport");
    if (!c->security) return refuse("security-error", "an end-to-end stream must be secured with XTLS");
    auto offer = xtls::parse_security(*c->security);
    if (!offer) return refuse("security-error", offer.error().text);
    Acceptance acceptance = policy_(session->peer(), *offer);
    auto method = choose(offer->methods, acceptance.methods);
    if (!method) return refuse("security-error", "no offered security method is acceptable for this peer");
    if (*method == xtls::Method::X509 && offer->fingerprint.empty())
        return refuse("security-error", "x509 needs the initiator's fingerprint");
    auto link = std::make_shared<Link>(manager_, Session::Role::Responder, ibb);
    link->wire_transport();
    link->transport->set_content(c->creator, c->name);
    link->transport->replace_wait = replace_wait;
    if (auto ok = link->transport->answer(session->peer().jid, *c->transport, transport); !ok)
        return refuse(ok.error().condition.c_str(), ok.error().text);
    link->session_started(session);
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
    answer.security = xtls::make_security(xtls::Security{ours_.fingerprint, acceptance.methods});
    // XEP-0260: every candidate is in session-accept, so it waits for the
    // transport's; the session may end meanwhile.
    link->transport->prepare([w = std::weak_ptr<Link>(link), answer = std::move(answer)]() mutable {
        auto link = w.lock();
        if (!link || link->ended()) return;
        answer.transport = link->transport->element();
        link->session->accept({answer});
        link->transport->connect();
    });
}

}  // namespace xpmn::jingle
