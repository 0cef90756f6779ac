// xtls::establish: TLS over the Jingle transport, the peer checks, then the
// XEP-0246 stream headers both ways; only then is there a channel.
//
// With TLS 1.3 the client's handshake is over before the server has judged
// the client's certificate, so the initiator counts the stream as open only
// when the responder's stream header arrives: a responder that refused the
// certificate sends an alert instead, and the initiator fails too.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "xmpp/client/peer.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/stream/xml_stream.hpp"
#include "xmpp/tls/tls_stream.hpp"
#include "xmpp/xtls/e2e_channel.hpp"
#include "xmpp/xtls/secure_stream.hpp"
#include "xmpp/xtls/xtls.hpp"

namespace xpmn::xtls {

namespace {

Error security_error(std::string text) { return Error{"security-error", std::move(text)}; }

// The SRP user name is the Jingle initiator's full JID: nobody else's PIN
// verifier is asked for.
tls::SrpLookup lookup_for(tls::SrpLookup lookup, Jid initiator) {
    if (!lookup) throw tls::TlsError("no SRP verifier lookup was given");
    return [lookup = std::move(lookup), initiator = std::move(initiator)](const std::string& user)
               -> std::optional<tls::SrpVerifier> {
        auto jid = Jid::parse(user);
        if (!jid || *jid != initiator) return std::nullopt;
        return lookup(user);
    };
}

std::shared_ptr<tls::TlsStream> make_tls(net::ByteStreamPtr transport, HandshakeParams& p, const StreamEnds& ends) {
    using TlsRole = tls::TlsStream::Role;
    tls::PeerCheck check;
    if (p.method == Method::Srp) {
        if (p.role == Role::Initiator) {
            if (p.srp.user.empty()) p.srp.user = ends.local.str();
            return std::make_shared<tls::TlsStream>(std::move(transport), tls::make_srp_client_context(p.srp),
                                                    TlsRole::Client, check);
        }
        check.srp_lookup = lookup_for(std::move(p.srp_lookup), ends.peer);
        return std::make_shared<tls::TlsStream>(std::move(transport), tls::make_server_context({}), TlsRole::Server,
                                                check);
    }
    return make_x509_tls(std::move(transport), p);
}

class Establishment : public std::enable_shared_from_this<Establishment> {
public:
    Establishment(boost::asio::io_context& io, net::ByteStreamPtr transport, HandshakeParams params, StreamEnds ends,
                  ChannelHandler done)
        : io_(io),
          transport_(std::move(transport)),
          params_(std::move(params)),
          ends_(std::move(ends)),
          done_(std::move(done)),
          timer_(io) {}

    void start() {
        if (!done_) return;  // cancelled before it began
        try {
            tls_ = make_tls(transport_, params_, ends_);
            transport_.reset();
        } catch (const std::exception& e) {  // TlsError, or a bad fingerprint
            return fail(security_error(std::string("cannot set up TLS: ") + e.what()));
        }
        // The pending wait keeps this object alive until the end (every end cancels it).
        timer_.expires_after(params_.timeout);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->fail(Error{"remote-server-timeout", "the end-to-end stream was not open in time"});
        });
        tls_->handshake([self = shared_from_this()](Result<void> secured) {
            if (!secured) return self->fail(security_error(secured.error().text));
            self->secured();
        });
    }

    // Owner gave up: everything goes, `done` is not called.
    void cancel() {
        if (done_) drop();
    }

private:
    void secured() {
        if (!done_) return;
        xml_ = std::make_shared<stream::XmlStream>(tls_);  // the c2s limits (wire profile §1)
        std::weak_ptr<Establishment> weak = weak_from_this();
        xml_->set_handlers({
            [weak](const xml::Element&) {
                if (auto self = weak.lock()) self->header_received();
            },
            [weak](xml::Element e) {
                if (auto self = weak.lock()) self->fail(security_error("<" + e.name() + "/> before the stream header"));
            },
            [weak](const std::string& reason) {
                if (auto self = weak.lock())
                    self->fail(security_error("the stream ended before it was open" +
                                              (reason.empty() ? std::string() : ": " + reason)));
            },
        });
        xml_->start();
        if (params_.role == Role::Initiator) open_stream();
    }

    void open_stream() {
        xml_->open({{"from", ends_.local.bare().str()}, {"to", ends_.peer.bare().str()}, {"version", "1.0"}});
    }

    // The peer's header; its to/from are not checked (the peer is who TLS proved).
    void header_received() {
        if (!done_) return;
        if (params_.role == Role::Responder) {
            open_stream();
            // RFC 6120 §4.3.2: a 1.0 stream gets features; there are none to offer inside.
            xml_->send(xml::Element("features", ns::stream));
        }
        client::Peer peer = params_.method == Method::X509
                                ? client::Peer::end_to_end_peer(ends_.peer, tls_->peer_certificate_sha256())
                                : client::Peer::pairing_peer(ends_.peer);
        timer_.cancel();
        auto channel = E2eChannel::create(io_, xml_, std::move(peer), ends_, params_.method);
        xml_.reset();
        tls_.reset();
        auto done = std::move(done_);
        done_ = nullptr;
        done(std::move(channel));
    }

    void fail(Error error) {
        if (!done_) return;
        spdlog::info("end-to-end stream with {} not established: {}", ends_.peer.str(), error.describe());
        auto done = drop();
        done(std::move(error));
    }

    // Ends the attempt: the stack down to the transport is aborted.
    ChannelHandler drop() {
        timer_.cancel();
        if (xml_) {
            xml_->set_handlers({});
            xml_->abort();
        } else if (tls_) {
            tls_->abort();
        } else if (transport_) {
            transport_->abort();
        }
        xml_.reset();
        tls_.reset();
        transport_.reset();
        auto done = std::move(done_);
        done_ = nullptr;
        return done;
    }

    boost::asio::io_context& io_;
    net::ByteStreamPtr transport_;  // until the TlsStream owns it
    HandshakeParams params_;
    StreamEnds ends_;
    ChannelHandler done_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<tls::TlsStream> tls_;
    std::shared_ptr<stream::XmlStream> xml_;
};

}  // namespace

CancelEstablish establish(boost::asio::io_context& io, net::ByteStreamPtr transport, HandshakeParams params,
                          StreamEnds ends, ChannelHandler done) {
    auto e = std::make_shared<Establishment>(io, std::move(transport), std::move(params), std::move(ends),
                                             std::move(done));
    // Posted: `done` is never called from inside establish().
    boost::asio::post(io, [e] { e->start(); });
    return [weak = std::weak_ptr<Establishment>(e)] {
        if (auto self = weak.lock()) self->cancel();
    };
}

}  // namespace xpmn::xtls
