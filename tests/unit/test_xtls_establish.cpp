// xtls::establish over the in-memory pair: x509 with both certificates
// checked against the fingerprints announced in Jingle and the trust store,
// SRP pairing with a PIN, and failures (impostor, untrusted, wrong PIN, a
// transport that drops, a peer that never answers) ending in an Error.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/xtls_test_pair.hpp"
#include "xmpp/client/peer.hpp"
#include "xmpp/xtls/e2e_channel.hpp"
#include "xmpp/xtls/xtls.hpp"

using namespace xpmn;
using test_tls::SelfSigned;

namespace {

using test_xtls::identity;
using test_xtls::Outcome;
using Xtls = test_xtls::XtlsPair;

TEST_F(Xtls, X509BothSidesProveTheAnnouncedTrustedCertificate) {
    connect(phone_x509(), bridge_x509(bridge));
    ASSERT_TRUE(initiator.channel) << initiator.error.describe();
    ASSERT_TRUE(responder.channel) << responder.error.describe();

    auto on_phone = initiator.channel->peer();
    ASSERT_TRUE(on_phone);
    EXPECT_EQ(on_phone->jid, device_jid);
    EXPECT_EQ(on_phone->proof, client::Peer::Proof::EndToEnd);
    EXPECT_EQ(on_phone->fingerprint, bridge.sha256);
    auto on_bridge = responder.channel->peer();
    ASSERT_TRUE(on_bridge);
    EXPECT_EQ(on_bridge->jid, phone_jid);
    EXPECT_TRUE(on_bridge->end_to_end());
    EXPECT_EQ(on_bridge->fingerprint, phone.sha256);
    // OpenSSL may judge the leaf more than once; only these were asked about.
    EXPECT_EQ(std::set<std::string>(phone_asked.begin(), phone_asked.end()), std::set<std::string>{bridge.sha256});
    EXPECT_EQ(std::set<std::string>(bridge_asked.begin(), bridge_asked.end()), std::set<std::string>{phone.sha256});
    EXPECT_EQ(initiator.channel->method(), xtls::Method::X509);
    EXPECT_FALSE(initiator.channel->closed());
    EXPECT_FALSE(responder.channel->closed());
}

// Same JID, new key: the impostor copies the real device's fingerprint into
// Jingle but cannot present its certificate.
TEST_F(Xtls, ImpostorWithAnotherKeyIsRefused) {
    SelfSigned impostor = test_tls::make_self_signed("bridge");
    connect(phone_x509(), bridge_x509(impostor));
    EXPECT_FALSE(initiator.channel);
    EXPECT_FALSE(responder.channel);
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_NE(initiator.error.text.find("does not match the fingerprint announced in Jingle " + bridge.sha256),
              std::string::npos)
        << initiator.error.text;
    EXPECT_EQ(responder.error.condition, "security-error");
    EXPECT_TRUE(phone_asked.empty());  // refused before the trust store was asked
}

// The impostor announces its own fingerprint: it matches, but nobody trusts it.
TEST_F(Xtls, AnnouncedButUntrustedCertificateIsRefused) {
    SelfSigned impostor = test_tls::make_self_signed("bridge");
    connect(x509(xtls::Role::Initiator, phone, impostor.sha256, phone_trusts, phone_asked), bridge_x509(impostor));
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_NE(initiator.error.text.find("is not in the trust store"), std::string::npos) << initiator.error.text;
    EXPECT_EQ(std::set<std::string>(phone_asked.begin(), phone_asked.end()), std::set<std::string>{impostor.sha256});
    EXPECT_EQ(responder.error.condition, "security-error");
    EXPECT_FALSE(responder.channel);
}

// With TLS 1.3 the client is done first; it must still fail when the
// responder refuses its certificate afterwards.
TEST_F(Xtls, ResponderRefusesAnUntrustedInitiator) {
    bridge_trusts.clear();
    connect(phone_x509(), bridge_x509(bridge));
    EXPECT_EQ(responder.error.condition, "security-error");
    EXPECT_NE(responder.error.text.find("is not in the trust store"), std::string::npos) << responder.error.text;
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_FALSE(initiator.channel);
}

TEST_F(Xtls, X509WithoutACertificateOrTrustCheckFailsCleanly) {
    auto p = phone_x509();
    p.trusted = nullptr;
    start_initiator(std::move(p));
    run();
    EXPECT_EQ(initiator.calls, 1);
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_NE(initiator.error.text.find("no trust check"), std::string::npos) << initiator.error.text;

    Outcome second;
    auto q = bridge_x509(bridge);
    q.peer_fingerprint = "not hex";
    xtls::establish(io, bridge_wire, std::move(q), {device_jid, phone_jid}, second.handler());
    run();
    EXPECT_EQ(second.calls, 1);
    EXPECT_EQ(second.error.condition, "security-error");
}

struct XtlsSrp : Xtls {
    std::vector<std::string> looked_up;
    tls::SrpVerifier verifier = tls::make_srp_verifier(phone_jid.str(), "493817");

    xtls::HandshakeParams phone_srp(const std::string& pin) {
        xtls::HandshakeParams p;
        p.role = xtls::Role::Initiator;
        p.method = xtls::Method::Srp;
        p.srp.password = pin;  // user: the initiator's full JID by default
        return p;
    }
    xtls::HandshakeParams bridge_srp() {
        xtls::HandshakeParams p;
        p.role = xtls::Role::Responder;
        p.method = xtls::Method::Srp;
        p.srp_lookup = [this](const std::string& user) -> std::optional<tls::SrpVerifier> {
            looked_up.push_back(user);
            return verifier;
        };
        return p;
    }
};

TEST_F(XtlsSrp, RightPinGivesPairingPeers) {
    connect(phone_srp("493817"), bridge_srp());
    ASSERT_TRUE(initiator.channel) << initiator.error.describe();
    ASSERT_TRUE(responder.channel) << responder.error.describe();
    EXPECT_EQ(looked_up, std::vector<std::string>{phone_jid.str()});
    auto on_bridge = responder.channel->peer();
    ASSERT_TRUE(on_bridge);
    EXPECT_EQ(on_bridge->proof, client::Peer::Proof::Pairing);
    EXPECT_EQ(on_bridge->jid, phone_jid);
    EXPECT_EQ(on_bridge->fingerprint, "");
    EXPECT_FALSE(on_bridge->end_to_end());
    auto on_phone = initiator.channel->peer();
    ASSERT_TRUE(on_phone);
    EXPECT_TRUE(on_phone->pairing());
    EXPECT_EQ(on_phone->jid, device_jid);
    EXPECT_EQ(initiator.channel->method(), xtls::Method::Srp);
}

TEST_F(XtlsSrp, WrongPinIsASecurityErrorOnBothSides) {
    connect(phone_srp("000000"), bridge_srp());
    EXPECT_FALSE(initiator.channel);
    EXPECT_FALSE(responder.channel);
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_EQ(responder.error.condition, "security-error");
}

// The SRP user must be the Jingle initiator: another name is not looked up.
TEST_F(XtlsSrp, UserOtherThanTheInitiatorIsNotLookedUp) {
    auto p = phone_srp("493817");
    p.srp.user = "mallory@example.org/x";
    connect(std::move(p), bridge_srp());
    EXPECT_TRUE(looked_up.empty());
    EXPECT_EQ(responder.error.condition, "security-error");
    EXPECT_NE(responder.error.text.find("unknown SRP user"), std::string::npos) << responder.error.text;
    EXPECT_EQ(initiator.error.condition, "security-error");
}

// A transport that ends in the middle of the TLS handshake: an Error, no hang.
TEST_F(Xtls, TransportDroppingMidHandshakeIsAnError) {
    bridge_wire->set_handlers({[this](std::string_view) { bridge_wire->abort(); }, nullptr, nullptr});
    bridge_wire->start();
    start_initiator(phone_x509());
    run();
    EXPECT_EQ(initiator.calls, 1);
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_FALSE(initiator.channel);
}

TEST_F(Xtls, ResponderDroppingAfterTlsBeforeItsHeaderIsAnError) {
    tls::PeerCheck check;
    check.verify = tls::verify_fingerprint(phone.sha256);
    auto server = std::make_shared<tls::TlsStream>(bridge_wire, tls::make_server_context({identity(bridge), true}),
                                                   tls::TlsStream::Role::Server, check);
    server->handshake([&](Result<void> secured) {
        ASSERT_TRUE(secured) << secured.error().text;
        server->close();  // close_notify, no stream header
    });
    start_initiator(phone_x509());
    run();
    EXPECT_EQ(initiator.calls, 1);
    EXPECT_EQ(initiator.error.condition, "security-error");
    EXPECT_NE(initiator.error.text.find("ended before it was open"), std::string::npos) << initiator.error.text;
}

TEST_F(Xtls, SilentPeerTimesOut) {
    bridge_wire->set_handlers({[](std::string_view) {}, nullptr, nullptr});
    bridge_wire->start();
    auto p = phone_x509();
    p.timeout = std::chrono::milliseconds(20);
    start_initiator(std::move(p));
    io.run();  // until the timer
    EXPECT_EQ(initiator.calls, 1);
    EXPECT_EQ(initiator.error.condition, "remote-server-timeout");
}

// The owner gives up (its Jingle session ended): no callback, the transport
// is dropped, the peer's attempt fails.
TEST_F(Xtls, CancelledAttemptsEndQuietly) {
    auto attempt = [this](bool mid_handshake) {
        initiator = {};
        responder = {};
        std::tie(phone_wire, bridge_wire) = net::make_memory_pair(io);
        start_responder(bridge_x509(bridge));
        auto cancel = start_initiator(phone_x509());
        if (mid_handshake) {
            io.restart();
            io.poll_one();  // the responder's start
            io.poll_one();  // the initiator's: its client hello is on the way
        }
        cancel();
        run();
        EXPECT_EQ(initiator.calls, 0) << mid_handshake;
        EXPECT_EQ(responder.calls, 1) << mid_handshake;
        EXPECT_EQ(responder.error.condition, "security-error") << mid_handshake;
    };
    attempt(false);  // before it began
    attempt(true);

    // After `done` it does nothing.
    initiator = {};
    responder = {};
    std::tie(phone_wire, bridge_wire) = net::make_memory_pair(io);
    auto cancel = start_initiator(phone_x509());
    start_responder(bridge_x509(bridge));
    run();
    ASSERT_TRUE(initiator.channel && responder.channel);
    cancel();
    run();
    EXPECT_FALSE(initiator.channel->closed());
    EXPECT_FALSE(responder.channel->closed());
}

// What the responder writes after its header: an empty <stream:features/>
// (RFC 6120 §4.3.2), seen by a plain TLS client with an XML stream.
TEST_F(Xtls, ResponderSendsItsHeaderAndEmptyFeatures) {
    test_xtls::RawInitiator raw;
    ASSERT_NO_FATAL_FAILURE(open_to(raw));
    EXPECT_EQ(raw.header->attr_or("from"), "home@example.org");
    EXPECT_EQ(raw.header->attr_or("to"), "home@example.org");
    EXPECT_EQ(raw.header->attr_or("version"), "1.0");
    ASSERT_EQ(raw.got.size(), 1u);
    EXPECT_EQ(raw.got[0].name(), "features");
    EXPECT_EQ(raw.got[0].ns(), ns::stream);
    EXPECT_TRUE(raw.got[0].nodes().empty());
}

// A responder that follows XEP-0246 without features (or sends them late)
// still gives the initiator an open stream.
TEST_F(Xtls, InitiatorNeedsNoFeatures) {
    tls::PeerCheck check;
    check.verify = tls::verify_fingerprint(phone.sha256);
    auto server = std::make_shared<tls::TlsStream>(bridge_wire, tls::make_server_context({identity(bridge), true}),
                                                   tls::TlsStream::Role::Server, check);
    std::shared_ptr<stream::XmlStream> xml;
    std::optional<xml::Element> header;
    std::vector<xml::Element> got;
    server->handshake([&](Result<void> secured) {
        ASSERT_TRUE(secured) << secured.error().text;
        xml = std::make_shared<stream::XmlStream>(server);
        xml->set_handlers({[&](const xml::Element& h) {
                               header = h;
                               xml->open({{"from", "home@example.org"}, {"version", "1.0"}});
                           },
                           [&](xml::Element e) { got.push_back(std::move(e)); }, nullptr});
        xml->start();
    });
    start_initiator(phone_x509());
    run();
    ASSERT_TRUE(initiator.channel) << initiator.error.describe();
    ASSERT_TRUE(header);  // the initiator's, sent first
    EXPECT_EQ(header->attr_or("from"), phone_jid.bare().str());
    EXPECT_EQ(header->attr_or("to"), device_jid.bare().str());
    EXPECT_EQ(header->attr_or("version"), "1.0");

    xml->send(xml::Element("features", ns::stream));  // late features: ignored
    xml::Element m("message", ns::client);
    m.add_text_child("body", "hi", ns::client);
    xml->send(m);
    std::vector<std::string> bodies;
    initiator.channel->router().on_message([&](const xml::Element& e) { bodies.push_back(e.child_text("body")); });
    run();
    EXPECT_EQ(bodies, std::vector<std::string>{"hi"});
    EXPECT_FALSE(initiator.channel->closed());
}

TEST(XtlsSecurity, MakeAndParse) {
    xtls::Security s{std::string(64, 'a'), {xtls::Method::X509, xtls::Method::Srp}};
    xml::Element e = xtls::make_security(s);
    EXPECT_EQ(e.to_string(),
              "<security xmlns='urn:xmpp:jingle:security:xtls:0'><fingerprint algo='sha-256'>" + std::string(64, 'a') +
                  "</fingerprint><method name='x509'/><method name='srp'/></security>");
    auto back = xtls::parse_security(e);
    ASSERT_TRUE(back) << back.error().describe();
    EXPECT_EQ(back->fingerprint, s.fingerprint);
    EXPECT_EQ(back->methods, s.methods);
}

TEST(XtlsSecurity, ParseNormalisesAndSkipsUnknown) {
    xml::Element e("security", xtls::kNs);
    std::string colons;
    for (int i = 0; i < 32; ++i) colons += std::string(i ? ":" : "") + "AB";
    e.add("fingerprint").set_attr("algo", "sha-1").add_text("00");
    e.add("fingerprint").set_attr("algo", "SHA-256").add_text("\n  " + colons + "\n");
    e.add("method").set_attr("name", "openpgp");
    e.add("method").set_attr("name", "srp");
    auto s = xtls::parse_security(e);
    ASSERT_TRUE(s) << s.error().describe();
    std::string lower;
    for (int i = 0; i < 32; ++i) lower += "ab";
    EXPECT_EQ(s->fingerprint, lower);
    EXPECT_EQ(s->methods, std::vector<xtls::Method>{xtls::Method::Srp});
    EXPECT_TRUE(xtls::parse_security(xml::Element("security", xtls::kNs)));  // nothing offered is not malformed
}

TEST(XtlsSecurity, MalformedIsBadRequest) {
    auto bad = [](xml::Element e) {
        auto r = xtls::parse_security(e);
        return !r && r.error().condition == "bad-request" && !r.error().text.empty();
    };
    EXPECT_TRUE(bad(xml::Element("security", "urn:other")));
    xml::Element short_fp("security", xtls::kNs);
    short_fp.add("fingerprint").set_attr("algo", "sha-256").add_text("abcd");
    EXPECT_TRUE(bad(short_fp));
    xml::Element no_algo("security", xtls::kNs);
    no_algo.add("fingerprint").add_text(std::string(64, 'a'));
    EXPECT_TRUE(bad(no_algo));
    xml::Element nameless("security", xtls::kNs);
    nameless.add("method");
    EXPECT_TRUE(bad(nameless));
    EXPECT_EQ(xtls::method_name(xtls::Method::X509), "x509");
    EXPECT_EQ(xtls::method_name(xtls::Method::Srp), "srp");
}

}  // namespace
