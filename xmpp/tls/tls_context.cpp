#include "xmpp/tls/tls_context.hpp"

#include "xmpp/tls/tls_srp.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstdio>

namespace xpmn::tls {

std::string last_openssl_error() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown TLS error" : out;
}

std::string normalize_fingerprint(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c == ':' || c == ' ') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) throw TlsError("fingerprint has a non-hex character");
        hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64) throw TlsError("a SHA-256 fingerprint has 64 hex digits, got " + std::to_string(hex.size()));
    return hex;
}

std::string certificate_sha256(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 15];
    }
    return out;
}

Identity load_identity(const std::string& cert_file, const std::string& key_file) {
    const std::string& kf = key_file.empty() ? cert_file : key_file;
    auto read = [](const std::string& path, auto reader, const char* what) {
        std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"), std::fclose);
        if (!f) throw TlsError(std::string("cannot open ") + what + " " + path);
        auto* obj = reader(f.get());
        if (!obj) throw TlsError(std::string("cannot read ") + what + " " + path + ": " + last_openssl_error());
        return obj;
    };
    Identity id;
    id.cert.reset(read(cert_file, [](FILE* f) { return PEM_read_X509(f, nullptr, nullptr, nullptr); }, "certificate"),
                  X509_free);
    id.key.reset(read(kf, [](FILE* f) { return PEM_read_PrivateKey(f, nullptr, nullptr, nullptr); }, "key"),
                 EVP_PKEY_free);
    if (X509_check_private_key(id.cert.get(), id.key.get()) != 1)
        throw TlsError("key " + kf + " does not match the certificate " + cert_file);
    return id;
}

namespace {

void use_identity(SSL_CTX* ctx, const Identity& id) {
    if (SSL_CTX_use_certificate(ctx, id.cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, id.key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        throw TlsError("cannot use the certificate and key: " + last_openssl_error());
}

SslCtxPtr new_context(const SSL_METHOD* method) {
    SslCtxPtr ctx(SSL_CTX_new(method), SSL_CTX_free);
    if (!ctx) throw TlsError("cannot create TLS context: " + last_openssl_error());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    return ctx;
}

int connection_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// OpenSSL calls this for every certificate of the chain and possibly more
// than once for the leaf (depth 0), the last time after every other check.
// Chain errors are remembered and judged with the leaf, by the connection's
// verifier; a refusal at any leaf call ends the handshake.
int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    ConnectionChecks* checks = ssl ? checks_of(ssl) : nullptr;
    if (!checks || !checks->verify) return preverify_ok;
    long err = preverify_ok ? X509_V_OK : X509_STORE_CTX_get_error(store);
    if (X509_STORE_CTX_get_error_depth(store) > 0) {
        if (err != X509_V_OK && checks->first_chain_error == X509_V_OK) checks->first_chain_error = err;
        return 1;
    }
    if (err != X509_V_OK && checks->first_chain_error == X509_V_OK) checks->first_chain_error = err;
    PeerCertificate peer;
    peer.leaf = X509_STORE_CTX_get_current_cert(store);
    peer.sha256 = certificate_sha256(peer.leaf);
    peer.chain_error = checks->first_chain_error;
    std::string why = checks->verify(peer);
    checks->leaf_checked = true;
    if (why.empty()) return 1;
    checks->rejected = why;
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

}  // namespace

ConnectionChecks* checks_of(SSL* ssl) { return static_cast<ConnectionChecks*>(SSL_get_ex_data(ssl, connection_index())); }

void attach_checks(SSL* ssl, ConnectionChecks* checks) {
    SSL_set_ex_data(ssl, connection_index(), checks);
    if (checks->srp_lookup) return use_srp_server(ssl);
    SSL_set_verify(ssl, SSL_get_verify_mode(ssl), verify_callback);
}

PeerVerifier verify_chain() {
    return [](const PeerCertificate& peer) -> std::string {
        if (peer.chain_error == X509_V_OK) return {};
        return X509_verify_cert_error_string(peer.chain_error);
    };
}

PeerVerifier verify_fingerprint(std::string sha256, std::string what) {
    return [want = normalize_fingerprint(sha256), what = std::move(what)](const PeerCertificate& peer) -> std::string {
        if (peer.sha256 == want) return {};
        return "certificate fingerprint " + (peer.sha256.empty() ? std::string("(none)") : peer.sha256) +
               " does not match the " + what + " " + want;
    };
}

PeerVerifier verify_trusted(std::function<bool(const std::string& sha256)> trusted, std::string what) {
    return [trusted = std::move(trusted), what = std::move(what)](const PeerCertificate& peer) -> std::string {
        if (trusted(peer.sha256)) return {};
        return "certificate " + peer.sha256 + " is not in the " + what;
    };
}

SslCtxPtr make_client_context(const ClientOptions& o) {
    auto ctx = new_context(TLS_client_method());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!o.pinned_sha256.empty()) {
        normalize_fingerprint(o.pinned_sha256);  // validate early; the chain is not checked against CAs
    } else if (!o.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
            throw TlsError("cannot load CA file " + o.ca_file + ": " + last_openssl_error());
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
        throw TlsError("cannot load the system CA certificates: " + last_openssl_error());
    }
    if (o.identity) {
        use_identity(ctx.get(), o.identity);
    } else if (!o.client_cert.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.client_cert.c_str()) != 1)
            throw TlsError("cannot load client certificate " + o.client_cert + ": " + last_openssl_error());
        const std::string& key = o.client_key.empty() ? o.client_cert : o.client_key;
        if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
            throw TlsError("cannot load client key " + key + ": " + last_openssl_error());
        if (SSL_CTX_check_private_key(ctx.get()) != 1)
            throw TlsError("client key does not match the certificate " + o.client_cert);
    }
    return ctx;
}

SslCtxPtr make_server_context(const ServerOptions& o) {
    auto ctx = new_context(TLS_server_method());
    if (o.identity) use_identity(ctx.get(), o.identity);
    enable_srp_server(ctx.get());  // only connections given an SRP lookup use it
    // Peers are judged by the connection's verifier (fingerprints), not by CAs.
    SSL_CTX_set_verify(ctx.get(), o.require_client_cert ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                        : SSL_VERIFY_NONE,
                       nullptr);
    return ctx;
}

}  // namespace xpmn::tls
