// TLS over any ByteStream, with OpenSSL on memory BIOs: the same code secures
// a c2s TCP connection (STARTTLS) and, later, an end-to-end Jingle transport
// (XTLS). Itself a ByteStream carrying the plaintext.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <string>

#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::tls {

// How this connection judges its peer (the context is shared; this is not).
struct PeerCheck {
    std::string host_name;        // client: SNI, and the name verify_chain() checks; empty: no name check
    std::string pinned_sha256;    // normalised hex; set: the leaf must match (verify_fingerprint)
    PeerVerifier verify = {};     // set: replaces the two above as the judge (e.g. a trust store)
    SrpLookup srp_lookup = {};    // server: an SRP connection, users' verifiers from this
};

class TlsStream : public net::ByteStream, public std::enable_shared_from_this<TlsStream> {
public:
    enum class Role { Client, Server };
    // Success: secured. An Error (undefined-condition): the text says why
    // (the peer's certificate refused, the connection closed, an alert…).
    using HandshakeHandler = std::function<void(Result<void>)>;

    TlsStream(net::ByteStreamPtr lower, SslCtxPtr ctx, Role role, PeerCheck check = {});
    ~TlsStream() override;

    void handshake(HandshakeHandler done);

    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void pause_reading() override { paused_ = true; }
    void resume_reading() override;
    void write(std::string bytes) override;
    std::size_t write_backlog() const override;
    void close() override;
    void abort() override;
    boost::asio::any_io_executor executor() const override { return lower_->executor(); }
    // Over a relay that may hold the tail (lower's relay_may_hold_tail), a
    // TLS 1.3 KeyUpdate padded to a full record follows what was written:
    // the relay's held bytes are then padding, and the peer's TLS consumes
    // it unseen. Nothing on other streams, or before TLS 1.3.
    void push_through() override;
    bool relay_may_hold_tail() const override { return lower_->relay_may_hold_tail(); }

    // Limits of what this layer holds itself; beyond them it pushes back on
    // the layer below (reading) or leaves the bytes with it (writing).
    static constexpr std::size_t kMaxHeldCiphertext = 64 * 1024;  // read while paused
    static constexpr std::size_t kWriteChunk = 64 * 1024;         // plaintext per SSL_write

    // Valid after the handshake.
    std::string peer_certificate_sha256() const;
    std::string protocol_version() const;

private:
    void on_lower_data(std::string_view data);
    void on_lower_closed(const std::string& reason);
    void on_lower_drained();
    void drive();
    bool read_plaintext();
    void post_drive();
    void post_flush();
    bool encrypt_pending(std::string& wire);
    void append_padded_key_update(std::string& wire);
    static std::size_t record_padding(SSL* ssl, int type, std::size_t length, void* self);
    void move_ciphertext(std::string& wire);
    void flush_out();
    void fail(const std::string& reason);
    std::string handshake_failure() const;
    std::string unverified_peer() const;

    net::ByteStreamPtr lower_;
    SslCtxPtr ctx_;
    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr;   // network → OpenSSL
    BIO* out_ = nullptr;  // OpenSSL → network
    Role role_;
    PeerCheck check_;
    ConnectionChecks checks_;    // reached by OpenSSL's callbacks through ssl_
    Handlers handlers_;
    HandshakeHandler on_handshake_;
    std::string plain_out_;      // written, not yet encrypted (this turn, or before the handshake)
    bool handshake_done_ = false;
    bool delivering_ = false;    // start() called
    bool paused_ = false;        // pause_reading() called
    bool lower_paused_ = false;  // we paused the lower stream
    bool drive_posted_ = false;
    int flush_stage_ = 0;        // 0: none; 1, 2: the two hops of a posted flush
    bool lower_ended_ = false;   // clean EOF from below, maybe with ciphertext still to read
    bool push_pending_ = false;  // push_through(): a padded KeyUpdate goes with the next flush
    bool pad_handshake_ = false; // while that KeyUpdate is written
    bool closed_ = false;
};

}  // namespace xpmn::tls
