#include "xmpp/tls/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/post.hpp>
#include <algorithm>

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
        checks_.srp_lookup = check_.srp_lookup;
    }
    SSL_set_record_padding_callback(ssl_, &TlsStream::record_padding);
    SSL_set_record_padding_callback_arg(ssl_, this);
    checks_.verify = check_.verify                   ? check_.verify
                     : !check_.pinned_sha256.empty() ? verify_fingerprint(check_.pinned_sha256)
                                                     : verify_chain();
    try {
        attach_checks(ssl_, &checks_);
    } catch (...) {
        SSL_free(ssl_);  // no destructor after a throwing constructor
        throw;
    }
}

// Why the handshake failed, in the words of whoever refused it.
std::string TlsStream::handshake_failure() const {
    if (!checks_.rejected.empty()) return "certificate verification failed: " + checks_.rejected;
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
        return std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
    return "TLS handshake failed: " + last_openssl_error();
}

// A safeguard after a successful handshake: a peer certificate that asked
// for verification went through the verifier.
std::string TlsStream::unverified_peer() const {
    if ((SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) && SSL_get0_peer_certificate(ssl_) && !checks_.leaf_checked)
        return "the peer's certificate was not verified";
    return {};
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
        [weak] {
            if (auto s = weak.lock()) s->on_lower_drained();
        },
    });
    lower_->start();
    drive();
}

void TlsStream::start() {
    delivering_ = true;
    post_drive();  // plaintext decrypted with the last handshake message
}

void TlsStream::resume_reading() {
    if (!paused_) return;
    paused_ = false;
    post_drive();
}

void TlsStream::post_drive() {
    if (drive_posted_ || closed_) return;
    drive_posted_ = true;
    boost::asio::post(executor(), [w = weak_from_this()] {
        auto s = w.lock();
        if (!s) return;
        s->drive_posted_ = false;
        if (!s->closed_) s->drive();
    });
}

void TlsStream::on_lower_data(std::string_view data) {
    if (closed_) return;
    BIO_write(in_, data.data(), static_cast<int>(data.size()));
    drive();
}

void TlsStream::on_lower_closed(const std::string& reason) {
    if (closed_) return;
    if (reason.empty() && handshake_done_) {
        // Clean EOF: first hand over what was decrypted or is still held (a
        // paused reader gets it, and then the end, when it resumes).
        lower_ended_ = true;
        drive();
        return;
    }
    fail(reason.empty() ? std::string("connection closed") + (handshake_done_ ? "" : " during the TLS handshake")
                        : reason);
}

void TlsStream::on_lower_drained() {
    if (closed_ || !plain_out_.empty() || flush_stage_ != 0) return;
    if (auto h = handlers_.on_drained) h();
}

// Advances the handshake, then decrypts whatever has arrived, as far as the
// reader wants it; then tells the layer below whether to go on reading.
void TlsStream::drive() {
    auto self = shared_from_this();  // callbacks below may drop the last owner
    if (!handshake_done_) {
        ERR_clear_error();
        int rc = SSL_do_handshake(ssl_);
        if (rc != 1) {
            int err = SSL_get_error(ssl_, rc);
            flush_out();
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
            fail(handshake_failure());
            return;
        }
        flush_out();
        if (auto why = unverified_peer(); !why.empty()) {
            fail(why);
            return;
        }
        handshake_done_ = true;
        if (!plain_out_.empty()) post_flush();  // written before the handshake finished
        if (auto h = std::move(on_handshake_)) h(Result<void>());
        if (closed_) return;
    }
    if (!read_plaintext()) return;
    bool reader_waits = !delivering_ || paused_;
    if (reader_waits && !lower_paused_ && BIO_ctrl_pending(in_) >= kMaxHeldCiphertext) {
        lower_paused_ = true;
        lower_->pause_reading();
    } else if (!reader_waits && lower_paused_) {
        lower_paused_ = false;
        lower_->resume_reading();
    }
}

// False when the stream ended.
bool TlsStream::read_plaintext() {
    char buf[16384];
    while (delivering_ && !paused_) {
        ERR_clear_error();
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
            if (auto h = handlers_.on_data) h(std::string_view(buf, static_cast<std::size_t>(n)));
            if (closed_) return false;
            continue;
        }
        int err = SSL_get_error(ssl_, n);
        flush_out();  // post-handshake messages (tickets, key updates)
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!lower_ended_) return true;
            fail("connection closed");
        } else if (err == SSL_ERROR_ZERO_RETURN) {
            fail({});
        } else {
            fail("TLS error: " + last_openssl_error());
        }
        return false;
    }
    return true;
}

// Through a cache-sized buffer rather than a zero-filled resize of `wire`
// (encrypt_pending reserved it): at transfer rates the zeroing showed.
void TlsStream::move_ciphertext(std::string& wire) {
    char buf[16 * 1024];
    for (int n; (n = BIO_read(out_, buf, sizeof buf)) > 0;) wire.append(buf, static_cast<std::size_t>(n));
}

void TlsStream::flush_out() {
    std::string wire;
    move_ciphertext(wire);
    if (!wire.empty()) lower_->write(std::move(wire));
}

void TlsStream::write(std::string bytes) {
    if (closed_ || bytes.empty()) return;
    if (plain_out_.empty()) plain_out_ = std::move(bytes);  // the usual case: no copy
    else plain_out_ += bytes;
    if (handshake_done_) post_flush();
}

// Two hops: the first lets the tasks the current handler posted (an ack
// request after a result, say) run and write too, so one turn's output leaves
// as one TLS record and one write below instead of one per stanza.
void TlsStream::post_flush() {
    if (flush_stage_ != 0) return;
    flush_stage_ = 1;
    boost::asio::post(executor(), [w = weak_from_this()] {
        auto s = w.lock();
        if (!s || s->closed_) return;
        s->flush_stage_ = 2;
        boost::asio::post(s->executor(), [w] {
            auto s = w.lock();
            if (!s || s->closed_) return;
            s->flush_stage_ = 0;
            std::string wire;
            if (!s->encrypt_pending(wire)) return s->fail("TLS write failed: " + last_openssl_error());
            if (s->push_pending_) s->append_padded_key_update(wire);
            s->lower_->write(std::move(wire));
        });
    });
}

// Encrypts plain_out_ in bounded chunks (the memory BIO never grows past one
// chunk's ciphertext) and gives its memory back. False when OpenSSL failed.
bool TlsStream::encrypt_pending(std::string& wire) {
    // Each record adds a header, the content type and the AEAD tag.
    constexpr std::size_t kRecordOverhead = 5 + 1 + 16;
    wire.reserve(wire.size() + plain_out_.size() +
                 (plain_out_.size() / SSL3_RT_MAX_PLAIN_LENGTH + 1) * kRecordOverhead);
    for (std::size_t at = 0; at < plain_out_.size();) {
        std::size_t n = std::min(kWriteChunk, plain_out_.size() - at);
        ERR_clear_error();
        // Memory BIOs never block, so SSL_write takes the whole chunk.
        int rc = SSL_write(ssl_, plain_out_.data() + at, static_cast<int>(n));
        if (rc <= 0) return false;
        at += static_cast<std::size_t>(rc);
        move_ciphertext(wire);
    }
    std::string().swap(plain_out_);
    return true;
}

void TlsStream::push_through() {
    if (closed_ || !handshake_done_ || !lower_->relay_may_hold_tail()) return;
    if (SSL_version(ssl_) != TLS1_3_VERSION) return;  // KeyUpdate is TLS 1.3's
    push_pending_ = true;
    post_flush();  // after what this turn writes, whatever is queued already
}

// Best effort: if OpenSSL refuses, the bytes before it still went out, only
// a holding relay may delay their tail until the next write.
void TlsStream::append_padded_key_update(std::string& wire) {
    push_pending_ = false;
    ERR_clear_error();
    if (SSL_key_update(ssl_, SSL_KEY_UPDATE_NOT_REQUESTED) != 1) return ERR_clear_error();
    pad_handshake_ = true;
    int rc = SSL_do_handshake(ssl_);  // writes the KeyUpdate now
    pad_handshake_ = false;
    if (rc != 1) ERR_clear_error();
    move_ciphertext(wire);
}

// OpenSSL caps the padding at a full record (16 KiB of plaintext): more than
// the 8 KiB a LuaSocket read-ahead buffer holds.
std::size_t TlsStream::record_padding(SSL*, int type, std::size_t, void* self) {
    return static_cast<TlsStream*>(self)->pad_handshake_ && type == SSL3_RT_HANDSHAKE ? SSL3_RT_MAX_PLAIN_LENGTH
                                                                                      : 0;
}

std::size_t TlsStream::write_backlog() const { return plain_out_.size() + lower_->write_backlog(); }

void TlsStream::fail(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    auto hs = std::move(on_handshake_);
    auto closed = std::move(handlers_.on_closed);
    handlers_ = {};
    std::string().swap(plain_out_);
    if (reason.empty()) lower_->close();
    else lower_->abort();
    if (hs)
        hs(Error{"undefined-condition", reason.empty() ? "connection closed during the TLS handshake" : reason});
    else if (closed) closed(reason);
}

void TlsStream::close() {
    if (closed_) return;
    closed_ = true;
    handlers_ = {};
    on_handshake_ = nullptr;
    if (handshake_done_) {
        // What was written this turn, then close_notify, in one write.
        std::string wire;
        if (!encrypt_pending(wire)) return lower_->abort();
        SSL_shutdown(ssl_);
        move_ciphertext(wire);
        if (!wire.empty()) lower_->write(std::move(wire));
    }
    lower_->close();
}

void TlsStream::abort() {
    closed_ = true;
    handlers_ = {};
    on_handshake_ = nullptr;
    std::string().swap(plain_out_);
    lower_->abort();
}

std::string TlsStream::peer_certificate_sha256() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    return certificate_sha256(cert);
}

std::string TlsStream::protocol_version() const { return SSL_get_version(ssl_); }

}  // namespace xpmn::tls
