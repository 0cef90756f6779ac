// TLS over any ByteStream, with OpenSSL on memory BIOs: the same code secures
// a c2s TCP connection (STARTTLS) and, later, an end-to-end Jingle transport
// (XTLS). Itself a ByteStream carrying the plaintext.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <string>

#include "xmpp/net/byte_stream.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::tls {

struct PeerCheck {
    std::string host_name;        // verify this name (client side, CA mode); empty: no name check
    std::string pinned_sha256;    // normalised hex; set: the leaf must match
};

class TlsStream : public net::ByteStream, public std::enable_shared_from_this<TlsStream> {
public:
    enum class Role { Client, Server };
    using HandshakeHandler = std::function<void(const std::string& error)>;  // empty error: secured

    TlsStream(net::ByteStreamPtr lower, SslCtxPtr ctx, Role role, PeerCheck check = {});
    ~TlsStream() override;

    void handshake(HandshakeHandler done);

    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void write(std::string bytes) override;
    std::size_t write_backlog() const override;
    void close() override;

    // Valid after the handshake.
    std::string peer_certificate_sha256() const;
    std::string protocol_version() const;

private:
    void on_lower_data(std::string_view data);
    void on_lower_closed(const std::string& reason);
    void drive();
    void flush_out();
    void fail(const std::string& reason);

    net::ByteStreamPtr lower_;
    SslCtxPtr ctx_;
    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr;   // network → OpenSSL
    BIO* out_ = nullptr;  // OpenSSL → network
    Role role_;
    PeerCheck check_;
    Handlers handlers_;
    HandshakeHandler on_handshake_;
    std::string pending_plain_;  // written before the handshake finished
    bool handshake_done_ = false;
    bool delivering_ = false;    // start() called
    std::string undelivered_;    // plaintext decrypted before start()
    bool closed_ = false;
};

}  // namespace xpmn::tls
