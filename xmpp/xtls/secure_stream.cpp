// xtls::secure_stream: the x509 handshake over a Jingle transport, bounded
// by a timer, and nothing else (see secure_stream.hpp for what the
// initiator sees when the responder refuses it after TLS 1.3's early end).
#include "xmpp/xtls/secure_stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

namespace xpmn::xtls {

namespace {

// The leaf must be the certificate announced in Jingle, and trusted.
tls::PeerVerifier announced_and_trusted(const HandshakeParams& p) {
    if (!p.trusted) throw tls::TlsError("no trust check was given for the peer's certificate");
    auto announced = tls::verify_fingerprint(p.peer_fingerprint, "fingerprint announced in Jingle");
    auto trusted = tls::verify_trusted(p.trusted, "trust store");
    return [announced, trusted](const tls::PeerCertificate& peer) -> std::string {
        std::string why = announced(peer);
        if (!why.empty()) return why;
        try {  // inside an OpenSSL callback: nothing may escape
            return trusted(peer);
        } catch (const std::exception& e) {
            return std::string("the trust store failed: ") + e.what();
        }
    };
}

class Securing : public std::enable_shared_from_this<Securing> {
public:
    Securing(boost::asio::io_context& io, net::ByteStreamPtr transport, HandshakeParams params,
             SecureStreamHandler done)
        : transport_(std::move(transport)), params_(std::move(params)), done_(std::move(done)), timer_(io) {}

    void start() {
        if (!done_) return;  // cancelled before it began
        try {
            if (params_.method != Method::X509) throw tls::TlsError("only x509 secures a raw stream");
            tls_ = make_x509_tls(transport_, params_);
            transport_.reset();
        } catch (const std::exception& e) {
            return fail(Error{"security-error", std::string("cannot set up TLS: ") + e.what()});
        }
        // The pending wait keeps this object alive until the end (every end cancels it).
        timer_.expires_after(params_.timeout);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->fail(Error{"remote-server-timeout", "the TLS handshake did not finish in time"});
        });
        tls_->handshake([self = shared_from_this()](Result<void> secured) {
            if (!secured) return self->fail(Error{"security-error", secured.error().text});
            if (!self->done_) return;
            self->timer_.cancel();
            auto done = std::exchange(self->done_, {});
            done(SecuredStream::wrap(std::exchange(self->tls_, {})));
        });
    }

    // Owner gave up: everything goes, `done` is not called.
    void cancel() {
        if (done_) drop();
    }

private:
    void fail(Error error) {
        if (!done_) return;
        spdlog::info("secured stream not established: {}", error.describe());
        auto done = drop();
        done(std::move(error));
    }

    SecureStreamHandler drop() {
        timer_.cancel();
        if (tls_) tls_->abort();
        else if (transport_) transport_->abort();
        tls_.reset();
        transport_.reset();
        return std::exchange(done_, {});
    }

    net::ByteStreamPtr transport_;  // until the TlsStream owns it
    HandshakeParams params_;
    SecureStreamHandler done_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<tls::TlsStream> tls_;
};

}  // namespace

std::shared_ptr<SecuredStream> SecuredStream::wrap(std::shared_ptr<tls::TlsStream> tls) {
    std::shared_ptr<SecuredStream> s(new SecuredStream(std::move(tls)));
    // At once: an alert arriving before the reader starts must not be lost.
    std::weak_ptr<SecuredStream> w = s;
    s->tls_->set_handlers({
        [w](std::string_view data) {
            if (auto self = w.lock(); self && self->handlers_.on_data) self->handlers_.on_data(data);
        },
        [w](const std::string& reason) {
            if (auto self = w.lock()) self->ended_below(reason);
        },
        [w] {
            if (auto self = w.lock(); self && self->handlers_.on_drained) self->handlers_.on_drained();
        },
    });
    return s;
}

void SecuredStream::start() {
    if (started_) return;
    started_ = true;
    if (early_end_) return deliver_end(*std::exchange(early_end_, std::nullopt));
    if (!ended_) tls_->start();
}

void SecuredStream::write(std::string bytes) {
    if (!ended_) tls_->write(std::move(bytes));
}

void SecuredStream::close() {
    if (ended_) return;
    handlers_ = {};
    tls_->close();
    end("", true);
}

void SecuredStream::abort() {
    if (ended_) return;
    handlers_ = {};
    tls_->abort();
    end("aborted", true);
}

void SecuredStream::fail(std::string reason) {
    if (ended_) return;
    if (reason.empty()) reason = "the secured stream was ended";
    tls_->abort();
    end(reason, true);
    if (started_) deliver_end(std::move(reason));
    else early_end_ = std::move(reason);
}

void SecuredStream::ended_below(const std::string& reason) {
    if (ended_) return;
    auto self = shared_from_this();  // the observer or reader may drop the last owner
    end(reason, false);
    if (!started_) {
        early_end_ = reason;
        return;
    }
    if (auto closed = std::exchange(handlers_, {}).on_closed) closed(reason);
}

void SecuredStream::end(const std::string& reason, bool by_us) {
    ended_ = true;
    if (auto observer = std::exchange(observer_, {})) observer(reason, by_us);
}

// The reader's on_closed from the event loop, never from inside a call of its own.
void SecuredStream::deliver_end(std::string reason) {
    boost::asio::post(executor(), [self = shared_from_this(), reason = std::move(reason)] {
        if (auto closed = std::exchange(self->handlers_, {}).on_closed) closed(reason);
    });
}

std::shared_ptr<tls::TlsStream> make_x509_tls(net::ByteStreamPtr transport, const HandshakeParams& p) {
    using TlsRole = tls::TlsStream::Role;
    if (!p.identity) throw tls::TlsError("no device certificate to present");
    tls::PeerCheck check;
    check.verify = announced_and_trusted(p);
    if (p.role == Role::Initiator) {
        tls::ClientOptions o;
        o.pinned_sha256 = p.peer_fingerprint;  // no CAs: the verifier above judges
        o.identity = p.identity;
        return std::make_shared<tls::TlsStream>(std::move(transport), tls::make_client_context(o), TlsRole::Client,
                                                check);
    }
    return std::make_shared<tls::TlsStream>(std::move(transport), tls::make_server_context({p.identity, true}),
                                            TlsRole::Server, check);
}

CancelEstablish secure_stream(boost::asio::io_context& io, net::ByteStreamPtr transport, HandshakeParams params,
                              SecureStreamHandler done) {
    auto s = std::make_shared<Securing>(io, std::move(transport), std::move(params), std::move(done));
    // Posted: `done` is never called from inside secure_stream().
    boost::asio::post(io, [s] { s->start(); });
    return [weak = std::weak_ptr<Securing>(s)] {
        if (auto self = weak.lock()) self->cancel();
    };
}

}  // namespace xpmn::xtls
