// The pubkey profile on /bridge: any end-to-end peer gets the bridge's
// certificate; a pairing (SRP) stream makes the bridge ask the controller
// for its certificate and trust it — owner for the home account, friend for
// another — and a bad answer stores nothing and ends the stream.
#include <gtest/gtest.h>

#include <filesystem>

#include "bridge/security/pubkey_profile.hpp"
#include "tests/unit/fake_channel.hpp"
#include "tests/unit/tls_test_pair.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/xtls/pubkey.hpp"

using namespace xpmn;
using fakes::FakeChannel;
using xtls::kPubkeyNs;

namespace {

struct Pubkey : ::testing::Test {
    boost::asio::io_context io;
    std::string dir;
    common::SystemTime now = *common::parse_rfc3339("2026-12-01T20:00:00Z");
    test_tls::SelfSigned bridge_id = test_tls::make_self_signed("bridge");
    test_tls::SelfSigned phone_id = test_tls::make_self_signed("phone");
    std::shared_ptr<xtls::TrustStore> trust;
    std::shared_ptr<bridge::Device> device =
        std::make_shared<bridge::Device>("bridge", disco::Identity{"automation", "gateway", "", "Home bridge"});
    std::vector<xtls::TrustEntry> paired;

    void SetUp() override {
        char tmpl[] = "/tmp/xpmn-pubkey-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        trust = std::make_shared<xtls::TrustStore>(dir + "/trust.toml");
        security::PubkeyContext ctx;
        ctx.trust = trust;
        ctx.home = Jid::must_parse("home@example.org");
        ctx.name = "Home bridge";
        ctx.certificate = [this] { return bridge_id.cert; };
        ctx.clock = [this] { return now; };
        ctx.on_paired = [this](const xtls::TrustEntry& e) { paired.push_back(e); };
        security::install_pubkey_profile(*device, std::move(ctx));
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::shared_ptr<FakeChannel> pairing(const char* jid) {
        auto ch = FakeChannel::create(io, client::Peer{Jid::must_parse(jid), client::Peer::Proof::Pairing, {}});
        device->add_channel(ch);
        return ch;
    }
    // The controller answers the bridge's pubkeys request with `payload`.
    void answer(FakeChannel& ch, std::optional<xml::Element> payload, const char* from) {
        ASSERT_EQ(ch.sent.size(), 1u);
        const auto& request = ch.sent[0];
        ASSERT_EQ(request.attr_or("type"), "get");
        ASSERT_TRUE(request.child("pubkeys", kPubkeyNs));
        xml::Element reply = stanza::iq("result", "home@example.org/bridge", request.attr_or("id"));
        reply.set_attr("from", from);
        if (payload) reply.add_child(std::move(*payload));
        ch.sent.clear();
        ch.deliver(reply);
    }
    xml::Element phone_keys(const char* name = "Pixel 7") { return xtls::make_pubkeys(name, phone_id.cert.get()); }
};

TEST_F(Pubkey, AHomeControllerIsStoredAsOwner) {
    auto ch = pairing("home@example.org/phone");
    answer(*ch, phone_keys(), "home@example.org/phone");
    const auto* e = trust->find(phone_id.sha256);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->jid.str(), "home@example.org");
    EXPECT_EQ(e->role, xtls::TrustRole::Owner);
    EXPECT_EQ(e->name, "Pixel 7");
    EXPECT_EQ(e->paired_at, now);
    ASSERT_EQ(paired.size(), 1u);
    EXPECT_TRUE(xtls::TrustStore::load(dir + "/trust.toml").trusts(phone_id.sha256, Jid::must_parse("home@example.org")));
    EXPECT_FALSE(ch->closed());
}

TEST_F(Pubkey, AnotherAccountIsStoredAsFriend) {
    auto ch = pairing("juliet@capulet.lit/tab");
    answer(*ch, phone_keys("Juliet's tab"), "juliet@capulet.lit/tab");
    const auto* e = trust->find(phone_id.sha256);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->jid.str(), "juliet@capulet.lit");
    EXPECT_EQ(e->role, xtls::TrustRole::Friend);
}

TEST_F(Pubkey, ABadAnswerStoresNothingAndEndsTheStream) {
    xml::Element not_a_cert("pubkeys", kPubkeyNs);
    auto& info = not_a_cert.add("keyinfo");
    info.add_text_child("name", "x");
    info.add_text_child("x509cert", "aGVsbG8=");
    std::vector<std::optional<xml::Element>> answers = {std::nullopt, xml::Element("pubkeys", kPubkeyNs), not_a_cert,
                                                        xml::Element("other", "urn:x")};
    for (auto& a : answers) {
        auto ch = pairing("home@example.org/phone");
        answer(*ch, a, "home@example.org/phone");
        EXPECT_TRUE(ch->closed());
    }
    EXPECT_TRUE(trust->entries().empty());
    EXPECT_TRUE(paired.empty());
}

TEST_F(Pubkey, OnlyPairingStreamsAreAsked) {
    auto e2e = FakeChannel::create(io, client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/phone"), phone_id.sha256));
    auto c2s = FakeChannel::create(io, std::nullopt);
    device->add_channel(e2e);
    device->add_channel(c2s);
    EXPECT_TRUE(e2e->sent.empty());
    EXPECT_TRUE(c2s->sent.empty());
}

TEST_F(Pubkey, EndToEndPeersGetTheBridgesCertificate) {
    auto ch = pairing("home@example.org/phone");
    ch->sent.clear();
    xml::Element get = stanza::iq("get", "home@example.org/bridge", "k1");
    get.add("pubkeys", kPubkeyNs);
    ch->deliver(get);
    ASSERT_EQ(ch->sent.size(), 1u);
    const xml::Element* pubkeys = ch->sent[0].child("pubkeys", kPubkeyNs);
    ASSERT_TRUE(pubkeys);
    auto key = xtls::parse_pubkeys(*pubkeys);
    ASSERT_TRUE(key) << key.error().describe();
    EXPECT_EQ(key->name, "Home bridge");
    EXPECT_EQ(key->fingerprint, bridge_id.sha256);

    auto c2s = FakeChannel::create(io, std::nullopt);
    device->add_channel(c2s);
    get.set_attr("from", "home@example.org/phone");
    c2s->deliver(get);
    ASSERT_EQ(c2s->sent.size(), 1u);
    EXPECT_EQ(stanza::error_condition(c2s->sent[0]), "not-authorized");
}

}  // namespace
