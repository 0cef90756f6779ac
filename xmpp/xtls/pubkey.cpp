#include "xmpp/xtls/pubkey.hpp"

#include <openssl/err.h>

#include "xmpp/core/base64.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::xtls {

namespace {

Error bad(std::string text) { return Error{"bad-request", std::move(text)}; }

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
    xml::Element pubkeys("pubkeys", kPubkeyNs);
    xml::Element& info = pubkeys.add("keyinfo");
    info.add_text_child("name", name);
    info.add_text_child("x509cert", base64_encode(certificate_der(cert)));
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
    std::string text = info->child_text("x509cert");
    // Base64 takes 4/3 of the bytes; allow for line breaks before decoding anything.
    if (text.size() > kMaxCertificateDer * 2)
        return bad("the certificate is larger than " + std::to_string(kMaxCertificateDer) + " bytes");
    auto der = base64_decode(text);
    if (!der) return bad("<x509cert/> is " + der.error().text);
    if (der->empty()) return bad("<x509cert/> is empty, not base64 of a certificate");
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
