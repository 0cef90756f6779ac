// urn:xmpp:pubkey:0 (wire profile §4.1): the answer carries the name and the
// DER certificate in base64; parsing gives back the certificate and its
// fingerprint, and refuses anything malformed with bad-request. Then the
// pairing exchange itself, both ways over an SRP end-to-end stream.
#include <gtest/gtest.h>

#include "tests/unit/xtls_test_pair.hpp"
#include "xmpp/core/base64.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/xtls/pubkey.hpp"

using namespace xpmn;

namespace {

const test_tls::SelfSigned& cert() {
    static const auto c = test_tls::make_self_signed("phone");
    return c;
}

std::string base64(const std::string& bytes) { return base64_encode(bytes); }

std::string b64_of_cert() {
    return xtls::make_pubkeys("", cert().cert.get()).child("keyinfo")->child_text("x509cert");
}

xml::Element keyinfo_with(const std::string& x509cert, const std::string& name = "Pixel 7") {
    xml::Element p("pubkeys", xtls::kPubkeyNs);
    xml::Element& info = p.add("keyinfo");
    info.add_text_child("name", name);
    info.add_text_child("x509cert", x509cert);
    return p;
}

std::string refusal(const xml::Element& e) {
    auto r = xtls::parse_pubkeys(e);
    if (r) return "(accepted)";
    EXPECT_EQ(r.error().condition, "bad-request");
    return r.error().text;
}

TEST(Pubkey, MakeAndParse) {
    xml::Element e = xtls::make_pubkeys("Pixel 7", cert().cert.get());
    EXPECT_EQ(e.to_string(), "<pubkeys xmlns='urn:xmpp:pubkey:0'><keyinfo><name>Pixel 7</name><x509cert>" +
                                 b64_of_cert() + "</x509cert></keyinfo></pubkeys>");
    auto k = xtls::parse_pubkeys(e);
    ASSERT_TRUE(k) << k.error().describe();
    EXPECT_EQ(k->name, "Pixel 7");
    EXPECT_EQ(k->fingerprint, cert().sha256);
    EXPECT_EQ(X509_cmp(k->cert.get(), cert().cert.get()), 0);
    EXPECT_EQ(e.child("keyinfo")->child_text("x509cert"), base64(xtls::certificate_der(cert().cert.get())));
    EXPECT_EQ(xtls::pubkeys_request().to_string(), "<pubkeys xmlns='urn:xmpp:pubkey:0'/>");
}

TEST(Pubkey, WrappedBase64AndMissingNameAreFine) {
    std::string b64 = b64_of_cert(), wrapped = "\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) wrapped += "  " + b64.substr(i, 64) + "\n";
    xml::Element e("pubkeys", xtls::kPubkeyNs);
    e.add("keyinfo").add_text_child("x509cert", wrapped);
    auto k = xtls::parse_pubkeys(e);
    ASSERT_TRUE(k) << k.error().describe();
    EXPECT_EQ(k->name, "");
    EXPECT_EQ(k->fingerprint, cert().sha256);
}

TEST(Pubkey, MalformedIsBadRequest) {
    EXPECT_NE(refusal(xml::Element("pubkeys", "urn:xmpp:pubkey:2")).find("expected <pubkeys"), std::string::npos);
    EXPECT_NE(refusal(xml::Element("pubkeys", xtls::kPubkeyNs)).find("no <keyinfo/>"), std::string::npos);
    EXPECT_NE(refusal(keyinfo_with("@@@@")).find("not base64"), std::string::npos);
    EXPECT_NE(refusal(keyinfo_with("")).find("not base64"), std::string::npos);
    EXPECT_NE(refusal(keyinfo_with("aGVsbG8gd29ybGQ=")).find("not one DER"), std::string::npos);
    // A certificate followed by more bytes is not one certificate.
    EXPECT_NE(refusal(keyinfo_with(base64(xtls::certificate_der(cert().cert.get()) + "trailing"))).find("not one DER"),
              std::string::npos);
    EXPECT_NE(refusal(keyinfo_with(base64(std::string(xtls::kMaxCertificateDer + 1, 'x')))).find("larger than"),
              std::string::npos);
    EXPECT_NE(refusal(keyinfo_with(b64_of_cert(), std::string(xtls::kMaxKeyName + 1, 'n'))).find("longer than"),
              std::string::npos);
    EXPECT_EQ(refusal(keyinfo_with(b64_of_cert(), std::string(xtls::kMaxKeyName, 'n'))), "(accepted)");
}

// Pairing: over an SRP stream each side asks for the other's key and keeps
// the fingerprint (wire profile §4.1).
struct PubkeyOverSrp : test_xtls::XtlsPair {};

TEST_F(PubkeyOverSrp, BothSidesLearnTheOthersCertificate) {
    tls::SrpVerifier verifier = tls::make_srp_verifier(phone_jid.str(), "493817");
    xtls::HandshakeParams i, r;
    i.method = r.method = xtls::Method::Srp;
    r.role = xtls::Role::Responder;
    i.srp.password = "493817";
    r.srp_lookup = [&](const std::string&) { return std::optional<tls::SrpVerifier>(verifier); };
    connect(std::move(i), std::move(r));
    ASSERT_TRUE(initiator.channel && responder.channel);

    auto serve = [](xtls::E2eChannel& ch, std::string name, const test_tls::SelfSigned& ours) {
        ch.router().on_iq("get", xtls::kPubkeyNs, "pubkeys",
                          [name, cert = ours.cert](const client::Peer& peer, const xml::Element&,
                                                   client::IqResponder reply) {
                              EXPECT_TRUE(peer.pairing());
                              reply.result(xtls::make_pubkeys(name, cert.get()));
                          });
    };
    serve(*initiator.channel, "Pixel 7", phone);
    serve(*responder.channel, "xpmn-bridge", bridge);
    std::vector<xtls::PubKey> phone_learned, bridge_learned;
    auto ask = [](xtls::E2eChannel& ch, std::vector<xtls::PubKey>& learned) {
        xml::Element iq = stanza::iq("get");
        iq.add_child(xtls::pubkeys_request());
        ch.router().send_iq(std::move(iq), std::chrono::seconds(30), [&learned](const client::IqResponse& r) {
            ASSERT_TRUE(r.ok()) << r.error().describe();
            auto k = xtls::parse_pubkeys(*r.payload());
            ASSERT_TRUE(k) << k.error().describe();
            learned.push_back(*k);
        });
    };
    ask(*initiator.channel, phone_learned);
    ask(*responder.channel, bridge_learned);
    run();
    ASSERT_EQ(phone_learned.size(), 1u);
    EXPECT_EQ(phone_learned[0].name, "xpmn-bridge");
    EXPECT_EQ(phone_learned[0].fingerprint, bridge.sha256);
    ASSERT_EQ(bridge_learned.size(), 1u);
    EXPECT_EQ(bridge_learned[0].name, "Pixel 7");
    EXPECT_EQ(bridge_learned[0].fingerprint, phone.sha256);
}

}  // namespace
