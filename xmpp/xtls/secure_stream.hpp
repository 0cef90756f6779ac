// Jingle XTLS without an XML stream on top (wire profile §6.2): the OOB
// session runs TLS (x509 only) over its transport and hands the TLS stream
// itself to the chunk framing. Same roles and peer checks as establish():
// the initiator is the TLS client, the responder the TLS server and it
// requires a client certificate; each side's peer must present the
// certificate announced in Jingle AND be accepted by its trust check.
//
// TLS 1.3 ends the client's handshake before the server has judged the
// client's certificate, and there is no stream header here to wait for. So
// the initiator's `done` may hand over a stream the responder is about to
// refuse: the responder then sends an alert (or just closes), and the
// initiator's reader gets on_closed with a non-empty reason as its first
// callback — an error, never data or a clean end (the responder's
// session-terminate <security-error/> follows in Jingle). That holds even
// when the alert arrives before the reader called start(): SecuredStream
// keeps such an early end and reports it on start(). Nothing the initiator
// wrote is accepted by the responder in that case.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"
#include "xmpp/tls/tls_stream.hpp"
#include "xmpp/xtls/xtls.hpp"

namespace xpmn::xtls {

// The secured stream handed out: the TlsStream, plus what its owners above
// need — an end that happens before start() is kept for start(), an
// observer of every end (the Jingle session ends with its stream), and
// fail() to end it from above with a reason the reader sees.
class SecuredStream : public net::ByteStream, public std::enable_shared_from_this<SecuredStream> {
public:
    // `tls` has finished its handshake and has not been started.
    static std::shared_ptr<SecuredStream> wrap(std::shared_ptr<tls::TlsStream> tls);

    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void pause_reading() override { tls_->pause_reading(); }
    void resume_reading() override { tls_->resume_reading(); }
    void write(std::string bytes) override;
    std::size_t write_backlog() const override { return ended_ ? 0 : tls_->write_backlog(); }
    void close() override;
    void abort() override;
    boost::asio::any_io_executor executor() const override { return tls_->executor(); }
    void push_through() override {
        if (!ended_) tls_->push_through();
    }
    bool relay_may_hold_tail() const override { return tls_->relay_may_hold_tail(); }

    // Ends the stream now (queued bytes dropped, the transport aborted); the
    // reader's on_closed gets `reason` (posted; non-empty) unless it saw an end already.
    void fail(std::string reason);
    // Called once when the stream ends in any way: reason "" for a clean end
    // (the peer's close_notify/EOF, our close()), else why; by_us when this
    // side closed, aborted or failed it. Runs inside close()/abort()/fail().
    void set_end_observer(std::function<void(const std::string& reason, bool by_us)> observer) {
        observer_ = std::move(observer);
    }
    bool ended() const { return ended_; }
    // SHA-256 of the peer's certificate (lowercase hex).
    std::string peer_fingerprint() const { return tls_->peer_certificate_sha256(); }

private:
    explicit SecuredStream(std::shared_ptr<tls::TlsStream> tls) : tls_(std::move(tls)) {}
    void ended_below(const std::string& reason);
    void end(const std::string& reason, bool by_us);
    void deliver_end(std::string reason);

    std::shared_ptr<tls::TlsStream> tls_;
    Handlers handlers_;
    std::function<void(const std::string&, bool)> observer_;
    std::optional<std::string> early_end_;  // ended before start(): reported on start()
    bool started_ = false;
    bool ended_ = false;
};

using SecureStreamHandler = std::function<void(Result<std::shared_ptr<SecuredStream>>)>;

// TLS over `transport` with params.method == X509 (role, identity,
// peer_fingerprint, trusted, timeout from `params`). Calls `done` once, never
// from inside this call: the secured stream (not yet started: the caller sets
// its handlers, then start()), or an Error — "security-error" for a TLS or
// verification failure (also a wrong method or missing identity/trust check),
// "remote-server-timeout" past params.timeout. The returned function gives
// up early: the transport is aborted and `done` is not called; after `done`
// it does nothing.
CancelEstablish secure_stream(boost::asio::io_context& io, net::ByteStreamPtr transport, HandshakeParams params,
                              SecureStreamHandler done);

// The x509 TlsStream both secure_stream() and establish() run: role from
// params.role, the leaf judged by the announced fingerprint and then the
// trust check. Throws tls::TlsError when the identity or trust check is
// missing or the fingerprint is malformed.
std::shared_ptr<tls::TlsStream> make_x509_tls(net::ByteStreamPtr transport, const HandshakeParams& params);

}  // namespace xpmn::xtls
