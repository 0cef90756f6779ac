#include "xmpp/xtls/pubkey.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <optional>

#include "xmpp/tls/tls_context.hpp"

namespace xpmn::xtls {

namespace {

Error bad(std::string text) { return Error{"bad-request", std::move(text)}; }

// OpenSSL's streaming decoder: skips whitespace (certificates are often
// wrapped), refuses anything else outside the alphabet and bad padding.
std::optional<std::string> decode_base64(std::string_view text) {
    std::unique_ptr<EVP_ENCODE_CTX, void (*)(EVP_ENCODE_CTX*)> ctx(EVP_ENCODE_CTX_new(), EVP_ENCODE_CTX_free);
    if (!ctx) return std::nullopt;
    EVP_DecodeInit(ctx.get());
    std::string out(text.size() / 4 * 3 + 3, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int n = 0, tail = 0;
    if (EVP_DecodeUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(text.data()),
                         static_cast<int>(text.size())) < 0 ||
        EVP_DecodeFinal(ctx.get(), o + n, &tail) < 0)
        return std::nullopt;
    out.resize(static_cast<std::size_t>(n + tail));
    return out;
}

}  // namespace

std::string certificate_der(X509* cert) {
    int n = cert ? i2d_X509(cert, nullptr) : 0;
    if (n <= 0) return {};
    std::string der(static_cast<std::size_t>(n), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &p);
    return der;
}

xml::Element pubkeys_request() { return xml::Element("pubkeys", kPubkeyNs); }

xml::Element make_pubkeys(std::string_view name, X509* cert) {
    std::string der = certificate_der(cert);
    std::string b64(4 * ((der.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                            reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
    b64.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    xml::Element pubkeys("pubkeys", kPubkeyNs);
    xml::Element& info = pubkeys.add("keyinfo");
    info.add_text_child("name", name);
    info.add_text_child("x509cert", b64);
    return pubkeys;
}

Result<PubKey> parse_pubkeys(const xml::Element& e) {
    if (e.name() != "pubkeys" || e.ns() != kPubkeyNs)
        return bad("expected <pubkeys xmlns='" + std::string(kPubkeyNs) + "'/>");
    const xml::Element* info = nullptr;
    for (const xml::Element* k : e.children("keyinfo"))
        if (k->child("x509cert")) {
            info = k;
            break;
        }
    if (!info) return bad("no <keyinfo/> with an <x509cert/> in <pubkeys/>");
    PubKey out;
    out.name = info->child_text("name");
    if (out.name.size() > kMaxKeyName)
        return bad("the key's <name/> is longer than " + std::to_string(kMaxKeyName) + " bytes");
    auto der = decode_base64(info->child_text("x509cert"));
    if (!der || der->empty()) return bad("<x509cert/> is not base64");
    if (der->size() > kMaxCertificateDer)
        return bad("the certificate is larger than " + std::to_string(kMaxCertificateDer) + " bytes");
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    out.cert.reset(d2i_X509(nullptr, &p, static_cast<long>(der->size())), X509_free);
    if (!out.cert || p != reinterpret_cast<const unsigned char*>(der->data()) + der->size()) {
        ERR_clear_error();  // not ours to report later
        return bad("<x509cert/> is not one DER X.509 certificate");
    }
    out.fingerprint = tls::certificate_sha256(out.cert.get());
    return out;
}

}  // namespace xpmn::xtls
