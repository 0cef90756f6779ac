#include "xmpp/tls/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace xpmn::tls {

TlsStream::TlsStream(net::ByteStreamPtr lower, SslCtxPtr ctx, Role role, PeerCheck check)
    : lower_(std::move(lower)), ctx_(std::move(ctx)), role_(role), check_(std::move(check)) {
    ssl_ = SSL_new(ctx_.get());
    if (!ssl_) throw TlsError("cannot create TLS session: " + last_openssl_error());
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);  // "no data yet" rather than EOF
    SSL_set_bio(ssl_, in_, out_);     // ssl_ owns both BIOs now
    if (role_ == Role::Client) {
        SSL_set_connect_state(ssl_);
        if (!check_.host_name.empty()) {
            SSL_set_tlsext_host_name(ssl_, check_.host_name.c_str());
            if (check_.pinned_sha256.empty()) {
                SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                SSL_set1_host(ssl_, check_.host_name.c_str());
            }
        }
    } else {
        SSL_set_accept_state(ssl_);
    }
}

TlsStream::~TlsStream() {
    if (ssl_) SSL_free(ssl_);
}

void TlsStream::handshake(HandshakeHandler done) {
    on_handshake_ = std::move(done);
    std::weak_ptr<TlsStream> weak = shared_from_this();
    lower_->set_handlers({
        [weak](std::string_view d) {
            if (auto s = weak.lock()) s->on_lower_data(d);
        },
        [weak](const std::string& r) {
            if (auto s = weak.lock()) s->on_lower_closed(r);
        },
    });
    lower_->start();
    drive();
}

void TlsStream::start() {
    delivering_ = true;
    if (!undelivered_.empty() && handlers_.on_data) {
        std::string data = std::move(undelivered_);
        undelivered_.clear();
        handlers_.on_data(data);
    }
}

void TlsStream::on_lower_data(std::string_view data) {
    if (closed_) return;
    BIO_write(in_, data.data(), static_cast<int>(data.size()));
    drive();
}

void TlsStream::on_lower_closed(const std::string& reason) {
    if (closed_) return;
    fail(reason.empty() ? std::string("connection closed") + (handshake_done_ ? "" : " during the TLS handshake")
                        : reason);
}

// Advances the handshake, then decrypts whatever has arrived.
void TlsStream::drive() {
    auto self = shared_from_this();  // callbacks below may drop the last owner
    if (!handshake_done_) {
        ERR_clear_error();
        int rc = SSL_do_handshake(ssl_);
        if (rc != 1) {
            int err = SSL_get_error(ssl_, rc);
            flush_out();
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
            long verify = SSL_get_verify_result(ssl_);
            std::string why = verify != X509_V_OK
                                  ? std::string("certificate verification failed: ") +
                                        X509_verify_cert_error_string(verify)
                                  : "TLS handshake failed: " + last_openssl_error();
            fail(why);
            return;
        }
        flush_out();
        if (!check_.pinned_sha256.empty()) {
            std::string got = peer_certificate_sha256();
            if (got != check_.pinned_sha256) {
                fail("certificate fingerprint " + (got.empty() ? std::string("(none)") : got) +
                     " does not match the pinned " + check_.pinned_sha256);
                return;
            }
        }
        handshake_done_ = true;
        if (!pending_plain_.empty()) {
            std::string p = std::move(pending_plain_);
            pending_plain_.clear();
            write(std::move(p));
        }
        if (auto h = std::move(on_handshake_)) h({});
        if (closed_) return;
    }
    char buf[16384];
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
            if (auto h = handlers_.on_data; delivering_ && h)
                h(std::string_view(buf, static_cast<std::size_t>(n)));
            else
                undelivered_.append(buf, static_cast<std::size_t>(n));
            if (closed_) return;
            continue;
        }
        int err = SSL_get_error(ssl_, n);
        flush_out();  // post-handshake messages (tickets, key updates)
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
        if (err == SSL_ERROR_ZERO_RETURN) fail({});
        else fail("TLS error: " + last_openssl_error());
        return;
    }
}

void TlsStream::flush_out() {
    char* data = nullptr;
    long len = BIO_get_mem_data(out_, &data);
    if (len <= 0) return;
    std::string bytes(data, static_cast<std::size_t>(len));
    (void)BIO_reset(out_);
    lower_->write(std::move(bytes));
}

void TlsStream::write(std::string bytes) {
    if (closed_ || bytes.empty()) return;
    if (!handshake_done_) {
        pending_plain_ += bytes;
        return;
    }
    ERR_clear_error();
    // Memory BIOs never block, so SSL_write takes everything at once.
    int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) {
        fail("TLS write failed: " + last_openssl_error());
        return;
    }
    flush_out();
}

std::size_t TlsStream::write_backlog() const { return pending_plain_.size() + lower_->write_backlog(); }

void TlsStream::fail(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    auto hs = std::move(on_handshake_);
    auto closed = std::move(handlers_.on_closed);
    handlers_ = {};
    lower_->close();
    if (hs) hs(reason.empty() ? std::string("connection closed during the TLS handshake") : reason);
    else if (closed) closed(reason);
}

void TlsStream::close() {
    if (closed_) return;
    closed_ = true;
    handlers_ = {};
    on_handshake_ = nullptr;
    if (handshake_done_) {
        SSL_shutdown(ssl_);
        flush_out();
    }
    lower_->close();
}

std::string TlsStream::peer_certificate_sha256() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    return certificate_sha256(cert);
}

std::string TlsStream::protocol_version() const { return SSL_get_version(ssl_); }

}  // namespace xpmn::tls
