// The xmlstream application end to end (wire profile §3.1): two routers
// through an in-memory server, Jingle on each, IBB under a real TLS
// handshake (x509 and srp), and the E2eChannel on both sides. Accepted,
// refused by the policy, TLS failures, and clean closes both ways.
#include <gtest/gtest.h>

#include "tests/unit/jingle_pair.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/xmlstream_session.hpp"

using namespace xpmn;
using namespace xpmn::jingle;
using jingletest::identity;
using jingletest::kDevice;
using jingletest::kPhone;

namespace {

constexpr const char* kPin = "493817";

struct XmlStreamTest : jingletest::PhoneAndDevice {
    std::set<std::string> device_trusts{phone_cert.sha256};
    std::vector<std::string> security_failures;
    std::vector<std::shared_ptr<xtls::E2eChannel>> device_channels;
    std::unique_ptr<XmlStreamResponder> responder;
    // The phone's outcome.
    std::shared_ptr<xtls::E2eChannel> phone_channel;
    std::optional<Error> phone_error;
    int phone_calls = 0;

    XmlStreamTest() {
        record_the_wire();
        responder = std::make_unique<XmlStreamResponder>(
            device, xtls::Security{device_cert.sha256, {}},
            [this](const client::Peer& peer, const xtls::Security& offer) { return policy(peer, offer); },
            [this](std::shared_ptr<xtls::E2eChannel> c) { device_channels.push_back(c); });
        responder->ibb.close_deadline = std::chrono::milliseconds(20);
    }
    // Channels dropped below close their streams, which send at once: the
    // tap must not reach members already gone.
    ~XmlStreamTest() override {
        server.tap = nullptr;
        server.drop = nullptr;
    }

    // The device's policy: x509 for a trusted fingerprint, srp while "pairing".
    bool pairing = false;
    Acceptance policy(const client::Peer& peer, const xtls::Security& offer) {
        EXPECT_EQ(peer.jid.str(), kPhone);
        Acceptance a;
        if (device_trusts.count(offer.fingerprint)) a.methods.push_back(xtls::Method::X509);
        if (pairing) a.methods.push_back(xtls::Method::Srp);
        a.params.identity = identity(device_cert);
        a.params.trusted = [this](const std::string& fp) { return device_trusts.count(fp) > 0; };
        a.params.srp_lookup = [](const std::string& user) -> std::optional<tls::SrpVerifier> {
            return tls::make_srp_verifier(user, kPin);
        };
        a.on_security_failure = [this](const std::string& why) { security_failures.push_back(why); };
        return a;
    }

    OpenXmlStream request(std::vector<xtls::Method> methods = {xtls::Method::X509}) {
        OpenXmlStream r;
        r.peer = Jid::must_parse(kDevice);
        r.offer = xtls::Security{phone_cert.sha256, std::move(methods)};
        r.params.identity = identity(phone_cert);
        r.params.trusted = [this](const std::string& fp) { return fp == device_cert.sha256; };
        r.params.srp.password = kPin;
        return r;
    }
    void open(OpenXmlStream r) {
        open_xmlstream(phone, std::move(r), [this](Result<std::shared_ptr<xtls::E2eChannel>> c) {
            ++phone_calls;
            if (c) phone_channel = *c;
            else phone_error = c.error();
        });
        run();
    }
    void run() {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    // Nothing left behind on either side.
    void expect_all_gone() {
        EXPECT_EQ(phone.session_count(), 0u);
        EXPECT_EQ(device.session_count(), 0u);
        EXPECT_EQ(phone.ibb().size(), 0u);
        EXPECT_EQ(device.ibb().size(), 0u);
    }
    // The first session-terminate follows the last IBB data: the stream had flushed.
    void expect_terminate_after_the_data() {
        auto terminate = std::find(sets.begin(), sets.end(), "session-terminate");
        ASSERT_NE(terminate, sets.end());
        EXPECT_EQ(std::find(terminate, sets.end(), "data"), sets.end());
        EXPECT_NE(std::find(sets.begin(), terminate, "close"), terminate);
    }
    void expect_refused_with_security_error() {
        EXPECT_EQ(phone_calls, 1);
        ASSERT_TRUE(phone_error);
        EXPECT_EQ(phone_error->condition, "security-error");
        EXPECT_TRUE(device_channels.empty());
        ASSERT_FALSE(terminates.empty());
        EXPECT_EQ(terminates[0].reason->condition, "security-error");
        expect_all_gone();
    }
};

TEST_F(XmlStreamTest, AcceptedX509StreamCarriesStanzasWithTheProvenPeer) {
    open(request());
    ASSERT_EQ(phone_calls, 1);
    ASSERT_TRUE(phone_channel) << phone_error->describe();
    ASSERT_EQ(device_channels.size(), 1u);
    auto device_channel = device_channels[0];
    ASSERT_TRUE(device_channel->peer());
    EXPECT_TRUE(device_channel->peer()->end_to_end());
    EXPECT_EQ(device_channel->peer()->fingerprint, phone_cert.sha256);
    EXPECT_EQ(device_channel->peer()->jid.str(), kPhone);
    EXPECT_EQ(phone_channel->peer()->fingerprint, device_cert.sha256);
    EXPECT_EQ(phone_channel->method(), xtls::Method::X509);

    // A request over the e2e stream, answered by a handler that sees the TLS-proven peer.
    std::optional<client::Peer> seen;
    device_channel->router().on_iq("get", ns::ping, "ping", [&](const client::Peer& p, const xml::Element&,
                                                                   client::IqResponder r) {
        seen = p;
        r.result();
    });
    auto ping = stanza::iq("get", kDevice);
    ping.add("ping", ns::ping);
    std::optional<client::IqResponse> answer;
    phone_channel->router().send_iq(ping, std::chrono::seconds(15), [&](const client::IqResponse& r) { answer = r; });
    run();
    ASSERT_TRUE(answer);
    EXPECT_TRUE(answer->ok());
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->fingerprint, phone_cert.sha256);
    EXPECT_TRUE(terminates.empty());
    EXPECT_EQ(phone.session_count(), 1u);
    EXPECT_EQ(device.session_count(), 1u);
}

TEST_F(XmlStreamTest, AnUntrustedInitiatorIsRefusedWithSecurityError) {
    device_trusts.clear();
    open(request());
    expect_refused_with_security_error();
    EXPECT_TRUE(security_failures.empty());  // a refusal, not a failed handshake
}

TEST_F(XmlStreamTest, AnInitiatorThatProvesAnotherCertificateFailsTheHandshake) {
    auto r = request();
    auto impostor = test_tls::make_self_signed("impostor");
    r.params.identity = identity(impostor);  // announces phone_cert, presents another
    open(std::move(r));
    expect_refused_with_security_error();
    EXPECT_EQ(security_failures.size(), 1u);
}

TEST_F(XmlStreamTest, ADeviceThePhoneDoesNotTrustFailsTheHandshake) {
    auto r = request();
    r.params.trusted = [](const std::string&) { return false; };
    open(std::move(r));
    expect_refused_with_security_error();
}

TEST_F(XmlStreamTest, SrpPairingWithTheRightPin) {
    pairing = true;
    device_trusts.clear();
    open(request({xtls::Method::Srp}));
    ASSERT_TRUE(phone_channel) << phone_error->describe();
    ASSERT_EQ(device_channels.size(), 1u);
    EXPECT_TRUE(device_channels[0]->peer()->pairing());
    EXPECT_EQ(phone_channel->method(), xtls::Method::Srp);
}

TEST_F(XmlStreamTest, SrpWithAWrongPinIsASecurityError) {
    pairing = true;
    device_trusts.clear();
    auto r = request({xtls::Method::Srp});
    r.params.srp.password = "000000";
    open(std::move(r));
    expect_refused_with_security_error();
    EXPECT_EQ(security_failures.size(), 1u);  // e.g. a PIN attempt counted
}

TEST_F(XmlStreamTest, BothMethodsOfferedX509Wins) {
    pairing = true;
    open(request({xtls::Method::Srp, xtls::Method::X509}));
    ASSERT_TRUE(phone_channel) << phone_error->describe();
    EXPECT_EQ(phone_channel->method(), xtls::Method::X509);
    EXPECT_EQ(device_channels.at(0)->method(), xtls::Method::X509);
}

// One side closes its channel: the other sees </stream:stream> (a clean
// end), then IBB <close/>, then session-terminate <success/>.
void close_cleanly(XmlStreamTest& t, bool phone_closes) {
    t.open(t.request());
    ASSERT_TRUE(t.phone_channel);
    auto closer = phone_closes ? t.phone_channel : t.device_channels.at(0);
    auto other = phone_closes ? t.device_channels.at(0) : t.phone_channel;
    bool other_closed = false;
    other->on_closed([&] { other_closed = true; });
    closer->close();
    t.run();
    EXPECT_TRUE(other_closed);
    EXPECT_EQ(other->end_reason(), "");
    ASSERT_FALSE(t.terminates.empty());
    EXPECT_EQ(t.terminates[0].reason->condition, "success");
    t.expect_terminate_after_the_data();
    t.expect_all_gone();
}

TEST_F(XmlStreamTest, ClosingThePhonesChannelEndsEverythingCleanly) { close_cleanly(*this, true); }
TEST_F(XmlStreamTest, ClosingTheDevicesChannelEndsEverythingCleanly) { close_cleanly(*this, false); }

TEST_F(XmlStreamTest, ThePeersSessionTerminateClosesTheChannel) {
    open(request());
    ASSERT_TRUE(phone_channel);
    bool device_closed = false;
    device_channels.at(0)->on_closed([&] { device_closed = true; });
    phone.terminate_all(Reason{"success", {}, {}});
    run();
    EXPECT_TRUE(device_closed);
    EXPECT_TRUE(phone_channel->closed());
    expect_all_gone();
}

TEST_F(XmlStreamTest, ThePhoneGoingUnavailableClosesTheDevicesChannel) {
    open(request());
    ASSERT_TRUE(phone_channel);
    EXPECT_NE(std::find(sets.begin(), sets.end(), "security-info"), sets.end());  // informative, acknowledged
    bool device_closed = false;
    device_channels.at(0)->on_closed([&] { device_closed = true; });
    // The phone vanished: nothing it sends arrives any more.
    server.drop = [](const xml::Element& e) { return e.attr_or("from") == kPhone; };
    xml::Element gone("presence", ns::client);
    gone.set_attr("type", "unavailable").set_attr("from", kPhone);
    rdevice.dispatch(gone);
    run();
    EXPECT_TRUE(device_closed);
    EXPECT_EQ(device.session_count(), 0u);
    // The IBB stream's last bytes are never acknowledged: it gives up after its close deadline.
    io.restart();
    while (device.ibb().size() > 0 && io.run_one() > 0) {
    }
    EXPECT_EQ(device.ibb().size(), 0u);
}

TEST_F(XmlStreamTest, NoResponderMeansUnsupportedApplications) {
    responder.reset();
    open(request());
    ASSERT_TRUE(phone_error);
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "unsupported-applications");
    expect_all_gone();
}

}  // namespace

// Nothing written before a graceful close is lost: the device asks, the
// phone answers and closes its channel in the same turn (what a controller
// does at the end of pairing). The device gets the answer before its
// channel reports closed, through </stream:stream>, close_notify, IBB
// <close/> and session-terminate.
// With `then_offline`, the phone's client ends its own XMPP session right
// after the close (as a command-line controller does on exit): what it sent
// before must already be on its way, ahead of its unavailable presence.
void answer_then_close(XmlStreamTest& t, bool message_too, bool then_offline = false) {
    t.open(t.request());
    ASSERT_TRUE(t.phone_channel);
    auto device_channel = t.device_channels.at(0);
    std::vector<std::string> device_saw;
    device_channel->on_closed([&] { device_saw.push_back("closed"); });
    device_channel->router().on_message([&](const xml::Element& m) {
        device_saw.push_back("message " + m.child_text("body", ns::client));
    });
    t.phone_channel->router().on_iq("get", ns::ping, "ping", [&](const client::Peer&, const xml::Element&,
                                                                   client::IqResponder r) {
        r.result();
        if (message_too) {
            xml::Element m("message", ns::client);
            m.add("body", ns::client).add_text("last words");
            t.phone_channel->send(std::move(m));
        }
        t.phone_channel->close();
        if (!then_offline) return;
        xml::Element gone("presence", ns::client);
        gone.set_attr("type", "unavailable").set_attr("to", kDevice);
        t.server.route(kPhone, gone);
        t.server.drop = [](const xml::Element& e) { return e.attr_or("from") == kPhone; };
    });
    auto ping = stanza::iq("get", kPhone);
    ping.add("ping", ns::ping);
    device_channel->router().send_iq(ping, std::chrono::seconds(15), [&](const client::IqResponse& r) {
        device_saw.push_back(r.ok() ? "result" : "error " + r.error().describe());
    });
    t.run();
    std::vector<std::string> expected{"result"};
    if (message_too) expected.push_back("message last words");
    expected.push_back("closed");
    EXPECT_EQ(device_saw, expected);
    if (then_offline) return;
    t.expect_terminate_after_the_data();
    t.expect_all_gone();
}

TEST_F(XmlStreamTest, AnAnswerSentRightBeforeTheCloseArrives) { answer_then_close(*this, false); }
TEST_F(XmlStreamTest, StanzasSentRightBeforeTheCloseArriveInOrder) { answer_then_close(*this, true); }
TEST_F(XmlStreamTest, AnAnswerSentRightBeforeTheCloseArrivesWhenThePhoneThenGoesOffline) {
    answer_then_close(*this, false, true);
}

// The device's reader is paused (its answers to the phone pile up unread),
// so what the phone sent last waits, decrypted or not, below the device's
// channel when the phone's IBB <close/> and session-terminate arrive. The
// session-terminate must not drop it: the channel ends after it.
TEST_F(XmlStreamTest, TheSessionTerminateDoesNotDropWhatAPausedReaderHolds) {
    open(request());
    ASSERT_TRUE(phone_channel);
    auto device_channel = device_channels.at(0);
    std::vector<std::string> device_saw;
    device_channel->on_closed([&] { device_saw.push_back("closed"); });
    device_channel->router().on_message([&](const xml::Element& m) {
        device_saw.push_back("message " + m.child_text("body", ns::client));
    });
    // The phone stops acknowledging the device's data: its backlog passes the
    // XML stream's bound and the device stops reading.
    server.drop = [](const xml::Element& e) {
        return e.attr_or("from") == kPhone && e.name() == "iq" && e.attr_or("type") == "result" &&
               !e.first_element();
    };
    xml::Element big("message", ns::client);
    big.add("body", ns::client).add_text(std::string(300 * 1024, 'x'));
    device_channel->send(big);
    run();
    xml::Element m("message", ns::client);
    m.add("body", ns::client).add_text("last words");
    phone_channel->send(std::move(m));
    phone_channel->close();
    run();
    EXPECT_EQ(device_saw, (std::vector<std::string>{"message last words", "closed"}));
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "success");
    EXPECT_EQ(device.session_count(), 0u);
    EXPECT_EQ(device.ibb().size(), 0u);
}
