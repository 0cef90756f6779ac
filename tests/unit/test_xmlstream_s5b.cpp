// The xmlstream application over S5B (wire profile §3.1, XEP-0260): two
// routers through an in-memory server, real S5B with a direct candidate on
// 127.0.0.1 under a real TLS handshake; the fallback to IBB by
// transport-replace when S5B cannot connect; an IBB-only device refusing an
// S5B offer; and clean ends both ways, where the peer's session-terminate
// may overtake the last bytes on the TCP stream.
#include <gtest/gtest.h>

#include "tests/unit/failing_transport.hpp"
#include "tests/unit/jingle_pair.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/s5b_transport.hpp"
#include "xmpp/jingle/xmlstream_session.hpp"

using namespace xpmn;
using namespace xpmn::jingle;
using namespace xpmn::jingletest;  // the fixture, its JIDs and certificates, FailingTransport

namespace {

S5bOptions loopback() {
    S5bOptions o;
    o.addresses = {"127.0.0.1"};
    return o;
}

struct XmlStreamS5bTest : jingletest::PhoneAndDevice {
    std::unique_ptr<XmlStreamResponder> responder;
    std::vector<std::shared_ptr<xtls::E2eChannel>> device_channels;
    std::shared_ptr<xtls::E2eChannel> phone_channel;
    std::optional<Error> phone_error;
    bool failing = false;  // both sides' S5B cannot connect

    XmlStreamS5bTest() {
        record_the_wire();
        responder = std::make_unique<XmlStreamResponder>(
            device, xtls::Security{device_cert.sha256, {}},
            [this](const client::Peer&, const xtls::Security&) {
                Acceptance a;
                a.methods = {xtls::Method::X509};
                a.params.identity = identity(device_cert);
                a.params.trusted = [this](const std::string& fp) { return fp == phone_cert.sha256; };
                return a;
            },
            [this](std::shared_ptr<xtls::E2eChannel> c) { device_channels.push_back(c); });
        responder->ibb.close_deadline = std::chrono::milliseconds(20);
        responder->transport = [this](const TransportContext& ctx, const xml::Element& offer) -> Result<TransportPtr> {
            if (failing) return TransportPtr(std::make_shared<FailingTransport>(ctx));
            auto s5b = S5bTransport::answer(ctx.manager, ctx.peer, offer, loopback());
            if (!s5b) return s5b.error();
            (*s5b)->set_info_sender(ctx.send_info);
            return TransportPtr(*s5b);
        };
    }
    ~XmlStreamS5bTest() override {
        server.tap = nullptr;
        server.drop = nullptr;
    }

    OpenXmlStream request() {
        OpenXmlStream r;
        r.peer = Jid::must_parse(kDevice);
        r.offer = xtls::Security{phone_cert.sha256, {xtls::Method::X509}};
        r.params.identity = identity(phone_cert);
        r.params.trusted = [this](const std::string& fp) { return fp == device_cert.sha256; };
        r.transport = [this](const TransportContext& ctx) -> TransportPtr {
            if (failing) return std::make_shared<FailingTransport>(ctx);
            auto s5b = S5bTransport::offer(ctx.manager, ctx.peer, loopback());
            EXPECT_TRUE(s5b) << s5b.error().describe();
            (*s5b)->set_info_sender(ctx.send_info);
            return *s5b;
        };
        return r;
    }
    // Real sockets: runs until `done` (or nothing is left to run).
    void run_until(const std::function<bool()>& done) {
        io.restart();
        while (!done() && io.run_one() > 0) {
        }
    }
    void open(OpenXmlStream r) {
        open_xmlstream(phone, std::move(r), [this](Result<std::shared_ptr<xtls::E2eChannel>> c) {
            if (c) phone_channel = *c;
            else phone_error = c.error();
        });
        run_until([this] { return phone_error || (phone_channel && !device_channels.empty()); });
    }
    bool all_gone() {
        return phone.session_count() == 0 && device.session_count() == 0 && phone.ibb().size() == 0 &&
               device.ibb().size() == 0;
    }
    bool saw(const std::string& set) const { return std::find(sets.begin(), sets.end(), set) != sets.end(); }
    // A ping from the device, answered by the phone over the channel.
    void expect_a_round_trip() {
        ASSERT_TRUE(phone_channel) << phone_error->describe();
        ASSERT_EQ(device_channels.size(), 1u);
        EXPECT_EQ(device_channels[0]->peer()->fingerprint, phone_cert.sha256);
        phone_channel->router().on_iq("get", ns::ping, "ping",
                                      [](const client::Peer&, const xml::Element&, client::IqResponder r) { r.result(); });
        auto ping = stanza::iq("get", kPhone);
        ping.add("ping", ns::ping);
        std::optional<bool> answered;
        device_channels[0]->router().send_iq(ping, std::chrono::seconds(15),
                                             [&](const client::IqResponse& r) { answered = r.ok(); });
        run_until([&] { return answered.has_value(); });
        EXPECT_EQ(answered, std::optional<bool>(true));
    }
};

TEST_F(XmlStreamS5bTest, TheStreamRunsOnS5bWithoutIbb) {
    open(request());
    ASSERT_TRUE(initiate);
    EXPECT_EQ(initiate->contents.at(0).transport->ns(), kS5bNs);
    ASSERT_NO_FATAL_FAILURE(expect_a_round_trip());
    EXPECT_FALSE(saw("open"));  // no IBB at all
    EXPECT_FALSE(saw("data"));
    EXPECT_FALSE(saw("transport-replace"));
}

TEST_F(XmlStreamS5bTest, AFailedS5bFallsBackToIbbByTransportReplace) {
    failing = true;
    open(request());
    ASSERT_NO_FATAL_FAILURE(expect_a_round_trip());
    auto replace = std::find(sets.begin(), sets.end(), "transport-replace");
    ASSERT_NE(replace, sets.end());
    auto accept = std::find(replace, sets.end(), "transport-accept");
    ASSERT_NE(accept, sets.end());
    EXPECT_NE(std::find(accept, sets.end(), "open"), sets.end());  // IBB after the accept
    EXPECT_TRUE(saw("transport-info"));  // the candidate-errors
}

TEST_F(XmlStreamS5bTest, TheDeviceRejectsAReplaceToAnythingButIbb) {
    failing = true;
    open(request());
    ASSERT_TRUE(phone_channel);
    // Once connected, a second transport-replace is refused whatever it names.
    Jingle replace;
    replace.action = Action::TransportReplace;
    Content c;
    c.name = "xmlstream";
    c.transport = xml::Element("transport", kS5bNs);
    replace.contents.push_back(std::move(c));
    auto session = phone.find(Jid::must_parse(kDevice), initiate->sid);
    ASSERT_TRUE(session);
    session->send(replace);
    run_until([this] { return saw("transport-reject"); });
    EXPECT_TRUE(saw("transport-reject"));
    EXPECT_FALSE(phone_channel->closed());
}

TEST_F(XmlStreamS5bTest, AnIbbOnlyDeviceRefusesS5bAndTheCallerMayOfferIbb) {
    responder->transport = nullptr;
    open(request());
    ASSERT_TRUE(phone_error);
    EXPECT_EQ(phone_error->condition, "feature-not-implemented");
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "unsupported-transports");
    auto ibb = request();
    ibb.transport = nullptr;
    phone_error.reset();
    open(std::move(ibb));
    ASSERT_NO_FATAL_FAILURE(expect_a_round_trip());
}

// The phone answers, sends one more stanza and closes in the same turn: over
// S5B its session-terminate travels apart from the TCP bytes and may come
// first; the device still gets everything, then the clean end.
void answer_then_close(XmlStreamS5bTest& t, bool phone_closes) {
    t.open(t.request());
    ASSERT_TRUE(t.phone_channel);
    auto device_channel = t.device_channels.at(0);
    auto closer = phone_closes ? t.phone_channel : device_channel;
    auto asker = phone_closes ? device_channel : t.phone_channel;
    std::vector<std::string> saw;
    asker->on_closed([&] { saw.push_back("closed"); });
    asker->router().on_message([&](const xml::Element& m) { saw.push_back(m.child_text("body", ns::client)); });
    closer->router().on_iq("get", ns::ping, "ping", [&](const client::Peer&, const xml::Element&, client::IqResponder r) {
        r.result();
        xml::Element m("message", ns::client);
        m.add("body", ns::client).add_text(std::string(64 * 1024, 'x'));
        closer->send(std::move(m));
        closer->close();
    });
    auto ping = stanza::iq("get", phone_closes ? kPhone : kDevice);
    ping.add("ping", ns::ping);
    asker->router().send_iq(ping, std::chrono::seconds(15), [&](const client::IqResponse& r) {
        saw.push_back(r.ok() ? "result" : "error " + r.error().describe());
    });
    t.run_until([&] { return saw.size() >= 3 && t.all_gone(); });
    EXPECT_EQ(saw, (std::vector<std::string>{"result", std::string(64 * 1024, 'x'), "closed"}));
    EXPECT_EQ(asker->end_reason(), "");
    ASSERT_FALSE(t.terminates.empty());
    EXPECT_EQ(t.terminates[0].reason->condition, "success");
    EXPECT_TRUE(t.all_gone());
}

TEST_F(XmlStreamS5bTest, ThePhonesLastStanzasArriveBeforeItsCleanEnd) { answer_then_close(*this, true); }
TEST_F(XmlStreamS5bTest, TheDevicesLastStanzasArriveBeforeItsCleanEnd) { answer_then_close(*this, false); }

}  // namespace
