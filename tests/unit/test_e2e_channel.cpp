// E2eChannel over an established x509 stream: IQ requests and responses
// through each side's router both ways, the proven peer whatever the
// stanzas say, closing from either side, limits and transport failures
// ending only the channel they hit.
#include <gtest/gtest.h>

#include "tests/unit/xtls_test_pair.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;

namespace {

using client::IqResponse;

constexpr const char* kEcho = "urn:test:echo";

struct Seen {
    std::vector<client::Peer> peers;
    std::vector<xml::Element> requests;
};

// Answers <echo/> gets with what it got, recording the peer and the stanza.
void install_echo(client::StanzaRouter& router, Seen& seen) {
    router.on_iq("get", kEcho, "echo", [&seen](const client::Peer& peer, const xml::Element& iq, client::IqResponder r) {
        seen.peers.push_back(peer);
        seen.requests.push_back(iq);
        xml::Element reply("echo", kEcho);
        reply.add_text(iq.first_element()->text());
        r.result(std::move(reply));
    });
}

xml::Element echo_request(const std::string& text, const std::string& to = {}) {
    xml::Element iq = stanza::iq("get", to);
    iq.add("echo", kEcho).add_text(text);
    return iq;
}

struct E2e : test_xtls::XtlsPair {
    Seen on_phone, on_bridge;
    std::vector<IqResponse> phone_got, bridge_got;
    int phone_closed = 0, bridge_closed = 0;
    std::vector<client::IqResponder> held;  // requests left unanswered

    void open_both() {
        open();
        install_echo(initiator.channel->router(), on_phone);
        install_echo(responder.channel->router(), on_bridge);
        initiator.channel->on_closed([this] { ++phone_closed; });
        responder.channel->on_closed([this] { ++bridge_closed; });
    }
    void phone_asks(xml::Element iq) {
        initiator.channel->router().send_iq(std::move(iq), std::chrono::seconds(30),
                                            [this](const IqResponse& r) { phone_got.push_back(r); });
    }
    void bridge_asks(xml::Element iq) {
        responder.channel->router().send_iq(std::move(iq), std::chrono::seconds(30),
                                            [this](const IqResponse& r) { bridge_got.push_back(r); });
    }
};

TEST_F(E2e, IqRequestsAndResponsesBothWays) {
    open_both();
    phone_asks(echo_request("to the device", device_jid.str()));
    phone_asks(echo_request("no address"));
    phone_asks(echo_request("another address", "someone@else.example/x"));  // inner addresses mean nothing
    bridge_asks(echo_request("to the phone", phone_jid.str()));
    run();

    ASSERT_EQ(phone_got.size(), 3u);
    for (const auto& r : phone_got) EXPECT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(phone_got[0].payload()->text(), "to the device");
    EXPECT_EQ(phone_got[1].payload()->text(), "no address");
    EXPECT_EQ(phone_got[2].payload()->text(), "another address");
    ASSERT_EQ(bridge_got.size(), 1u);
    EXPECT_TRUE(bridge_got[0].ok());
    EXPECT_EQ(bridge_got[0].payload()->text(), "to the phone");

    // Each handler saw the peer TLS proved, and stanzas addressed accordingly.
    ASSERT_EQ(on_bridge.peers.size(), 3u);
    for (const auto& p : on_bridge.peers) {
        EXPECT_EQ(p.jid, phone_jid);
        EXPECT_TRUE(p.end_to_end());
        EXPECT_EQ(p.fingerprint, phone.sha256);
    }
    for (const auto& iq : on_bridge.requests) {
        EXPECT_EQ(iq.attr_or("from"), phone_jid.str());
        EXPECT_EQ(iq.attr_or("to"), device_jid.str());
    }
    ASSERT_EQ(on_phone.peers.size(), 1u);
    EXPECT_EQ(on_phone.peers[0].jid, device_jid);
    EXPECT_EQ(on_phone.peers[0].fingerprint, bridge.sha256);
    EXPECT_EQ(phone_closed + bridge_closed, 0);
}

TEST_F(E2e, UnknownRequestsAreAnsweredAndPingWorks) {
    open_both();
    xml::Element unknown = stanza::iq("get");
    unknown.add("query", "urn:test:nothing");
    phone_asks(std::move(unknown));
    xml::Element ping = stanza::iq("get");
    ping.add("ping", ns::ping);
    phone_asks(std::move(ping));
    run();
    ASSERT_EQ(phone_got.size(), 2u);
    EXPECT_EQ(phone_got[0].error().condition, "service-unavailable");
    EXPECT_TRUE(phone_got[1].ok());
}

// A peer's forged `from` reaches no handler: the peer is who TLS proved.
TEST_F(E2e, ForgedAddressesAreIgnored) {
    test_xtls::RawInitiator raw;
    ASSERT_NO_FATAL_FAILURE(open_to(raw));
    install_echo(responder.channel->router(), on_bridge);
    xml::Element iq = echo_request("forged", "juliet@capulet.lit/balcony");
    iq.set_attr("id", "f1");
    iq.set_attr("from", "owner@example.org/admin");
    raw.xml->send(iq);
    run();
    ASSERT_EQ(on_bridge.peers.size(), 1u);
    EXPECT_EQ(on_bridge.peers[0].jid, phone_jid);
    EXPECT_EQ(on_bridge.requests[0].attr_or("from"), phone_jid.str());
    ASSERT_EQ(raw.got.size(), 2u);  // features, then the answer
    EXPECT_EQ(raw.got[1].attr_or("type"), "result");
    EXPECT_EQ(raw.got[1].attr_or("id"), "f1");
    EXPECT_EQ(raw.got[1].attr_or("from"), device_jid.str());
    EXPECT_EQ(raw.got[1].attr_or("to"), phone_jid.str());
}

TEST_F(E2e, InitiatorClosesBothEnd) {
    open_both();
    initiator.channel->close();
    run();
    EXPECT_TRUE(responder.channel->closed());
    EXPECT_EQ(responder.channel->end_reason(), "");
    EXPECT_EQ(phone_closed, 1);
    EXPECT_EQ(bridge_closed, 1);
    initiator.channel->send(echo_request("after the end"));  // dropped, no crash
    run();
    EXPECT_TRUE(on_bridge.requests.empty());
}

TEST_F(E2e, ResponderClosesAndPendingRequestsFail) {
    open_both();
    // A request the phone never answers is pending when the device closes.
    initiator.channel->router().on_iq("get", "urn:test:slow", "q",
                                      [this](const client::Peer&, const xml::Element&, client::IqResponder r) {
                                          held.push_back(std::move(r));
                                      });
    xml::Element slow = stanza::iq("get");
    slow.add("q", "urn:test:slow");
    bridge_asks(std::move(slow));
    run();
    ASSERT_TRUE(bridge_got.empty());
    responder.channel->close();
    run();
    ASSERT_EQ(bridge_got.size(), 1u);
    EXPECT_EQ(bridge_got[0].error().condition, "recipient-unavailable");
    EXPECT_TRUE(initiator.channel->closed());
    EXPECT_EQ(initiator.channel->end_reason(), "");
    EXPECT_EQ(phone_closed, 1);
    EXPECT_EQ(bridge_closed, 1);
}

TEST_F(E2e, OversizedStanzaEndsTheStream) {
    open_both();
    xml::Element big("message", ns::client);
    big.add_text_child("body", std::string(300 * 1024, 'x'), ns::client);
    initiator.channel->send(std::move(big));
    run();
    EXPECT_TRUE(responder.channel->closed());
    EXPECT_NE(responder.channel->end_reason().find("policy-violation"), std::string::npos)
        << responder.channel->end_reason();
    EXPECT_TRUE(initiator.channel->closed());
    EXPECT_NE(initiator.channel->end_reason().find("policy-violation"), std::string::npos)
        << initiator.channel->end_reason();
    EXPECT_EQ(phone_closed, 1);
    EXPECT_EQ(bridge_closed, 1);
}

TEST_F(E2e, NonStanzaElementEndsTheStream) {
    test_xtls::RawInitiator raw;
    ASSERT_NO_FATAL_FAILURE(open_to(raw));
    raw.xml->send(xml::Element("starttls", ns::tls));
    run();
    EXPECT_TRUE(responder.channel->closed());
    ASSERT_FALSE(raw.got.empty());
    EXPECT_EQ(raw.got.back().name(), "error");
    EXPECT_TRUE(raw.got.back().child("unsupported-stanza-type", ns::streams_err));
}

TEST_F(E2e, TransportFailureEndsOnlyThatChannel) {
    open_both();
    // A second, independent stream between two other resources.
    test_xtls::Outcome other_phone, other_device;
    auto [a, b] = net::make_memory_pair(io);
    Jid tablet = Jid::must_parse("home@example.org/tablet");
    xtls::establish(io, a, phone_x509(), {tablet, device_jid}, other_phone.handler());
    xtls::establish(io, b, bridge_x509(bridge), {device_jid, tablet}, other_device.handler());
    run();
    ASSERT_TRUE(other_phone.channel && other_device.channel);
    Seen other_seen;
    install_echo(other_device.channel->router(), other_seen);

    bridge_wire->abort();  // the first stream's transport resets
    std::vector<IqResponse> other_got;
    other_phone.channel->router().send_iq(echo_request("still here"), std::chrono::seconds(30),
                                          [&](const IqResponse& r) { other_got.push_back(r); });
    run();
    EXPECT_TRUE(initiator.channel->closed());
    EXPECT_NE(initiator.channel->end_reason(), "");
    EXPECT_EQ(phone_closed, 1);
    ASSERT_EQ(other_got.size(), 1u);
    EXPECT_TRUE(other_got[0].ok());
    EXPECT_FALSE(other_phone.channel->closed());
    EXPECT_FALSE(other_device.channel->closed());
}

// An owner that drops an open channel still ends the stream for the peer.
TEST_F(E2e, DroppedChannelClosesTheStream) {
    open_both();
    initiator.channel.reset();
    run();
    EXPECT_TRUE(responder.channel->closed());
    EXPECT_EQ(bridge_closed, 1);
}

}  // namespace
