// XEP-0198 bookkeeping and the stanza router's request/response rules.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "xmpp/client/ack_requester.hpp"
#include "xmpp/client/stanza_router.hpp"
#include "xmpp/client/stream_management.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using client::StreamManagement;

namespace {

xml::Element msg(int i) {
    xml::Element m("message", "jabber:client");
    m.set_attr("id", std::to_string(i));
    return m;
}

TEST(StreamManagement, KeepsUntilAcked) {
    StreamManagement sm;
    sm.enabled("abc", true);
    for (int i = 0; i < 5; ++i) sm.sent(msg(i));
    EXPECT_TRUE(sm.acknowledge(2));
    EXPECT_EQ(sm.unacked_count(), 3u);
    EXPECT_TRUE(sm.acknowledge(2));  // repeated ack is harmless
    EXPECT_FALSE(sm.acknowledge(9)); // more than was sent
    auto rest = sm.take_unacked();
    ASSERT_EQ(rest.size(), 3u);
    EXPECT_EQ(rest.front().attr_or("id"), "2");
}

TEST(StreamManagement, CountersWrapAround) {
    StreamManagement sm;
    sm.enabled("x", true);
    // Drive the ack counter near 2^32.
    for (std::uint32_t step = 0; step < 4; ++step) {
        for (int i = 0; i < 3; ++i) sm.sent(msg(i));
    }
    EXPECT_TRUE(sm.acknowledge(12));
    StreamManagement wrap;
    wrap.enabled("y", true);
    wrap.sent(msg(1));
    EXPECT_TRUE(wrap.acknowledge(1));
    EXPECT_FALSE(wrap.acknowledge(0xFFFFFFFFu));  // h going backwards is "more than sent"
}

TEST(StreamManagement, NotActiveKeepsNothing) {
    StreamManagement sm;
    sm.sent(msg(1));
    EXPECT_EQ(sm.unacked_count(), 0u);
    sm.enabled("", false);
    EXPECT_TRUE(sm.active());
    EXPECT_FALSE(sm.resumable());
}

TEST(StreamManagement, RefusedResumeMovesTheRestToTheNextSession) {
    StreamManagement sm;
    sm.enabled("abc", true);
    for (int i = 0; i < 4; ++i) sm.sent(msg(i));
    EXPECT_EQ(sm.resume_failed(1u), 3u);  // the server had handled one
    EXPECT_FALSE(sm.resumable());
    sm.new_session();
    auto resend = sm.take_resend();
    ASSERT_EQ(resend.size(), 3u);
    EXPECT_EQ(resend.front().attr_or("id"), "1");
    EXPECT_TRUE(sm.take_resend().empty());
}

TEST(StreamManagement, ForgetDropsWhatALyingServerClaims) {
    StreamManagement sm;
    sm.enabled("abc", true);
    for (int i = 0; i < 3; ++i) sm.sent(msg(i));
    EXPECT_FALSE(sm.acknowledge(1000));
    EXPECT_EQ(sm.forget(), 3u);
    EXPECT_FALSE(sm.resumable());
    sm.new_session();
    EXPECT_TRUE(sm.take_resend().empty());  // nothing resent either
}

TEST(StreamManagement, ParsesHStrictly) {
    EXPECT_EQ(client::parse_sm_h("0"), 0u);
    EXPECT_EQ(client::parse_sm_h("4294967295"), 4294967295u);
    EXPECT_FALSE(client::parse_sm_h("4294967296"));
    EXPECT_FALSE(client::parse_sm_h(""));
    EXPECT_FALSE(client::parse_sm_h("-1"));
    EXPECT_FALSE(client::parse_sm_h("12x"));
}

// When <r/> goes out: never per stanza, after `every` stanzas at once, else
// once the output went idle with stanzas outstanding.
struct AckPolicy : ::testing::Test {
    boost::asio::io_context io;
    int requests = 0;
    std::unique_ptr<client::AckRequester> make(std::size_t every, std::chrono::milliseconds idle) {
        return std::make_unique<client::AckRequester>(io, client::AckRequester::Policy{every, idle},
                                                      [this] { ++requests; });
    }
};

TEST_F(AckPolicy, EveryNStanzasAtOnce) {
    auto acks = make(3, std::chrono::hours(1));
    acks->sent();
    acks->sent();
    EXPECT_EQ(requests, 0);
    acks->sent();  // the third: asked in the same turn, with the stanza
    EXPECT_EQ(requests, 1);
    for (int i = 0; i < 6; ++i) acks->sent();
    EXPECT_EQ(requests, 3);
    acks->cancel();
    io.run();
}

TEST_F(AckPolicy, OnceWhenIdle) {
    auto acks = make(100, std::chrono::milliseconds(5));
    for (int i = 0; i < 5; ++i) acks->sent();
    EXPECT_EQ(requests, 0);
    io.run();  // returns once the idle timer has fired and nothing is outstanding
    EXPECT_EQ(requests, 1);
    EXPECT_EQ(acks->since_request(), 0u);
}

TEST_F(AckPolicy, NothingWhenAllAcknowledged) {
    auto acks = make(100, std::chrono::milliseconds(5));
    acks->sent();
    acks->sent();
    acks->acknowledged(1);  // one still out
    EXPECT_EQ(acks->since_request(), 2u);
    acks->acknowledged(0);  // the server had everything already
    io.run();
    EXPECT_EQ(requests, 0);
}

TEST_F(AckPolicy, NothingAfterCancelOrDestruction) {
    auto acks = make(100, std::chrono::milliseconds(5));
    acks->sent();
    acks->cancel();
    io.run();
    EXPECT_EQ(requests, 0);
    io.restart();
    acks->sent();
    acks.reset();  // the pending wait must not call into a destroyed owner
    io.run();
    EXPECT_EQ(requests, 0);
}

TEST(StanzaRouter, UnknownPayloadGetsServiceUnavailable) {
    boost::asio::io_context io;
    client::StanzaRouter router(io);
    std::vector<xml::Element> sent;
    router.set_sender([&](xml::Element e) { sent.push_back(std::move(e)); });
    auto iq = stanza::iq("get", "me@x/r", "q1");
    iq.set_attr("from", "you@x/r");
    iq.add("weird", "urn:example:weird");
    router.dispatch(iq);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].attr_or("type"), "error");
    EXPECT_EQ(sent[0].attr_or("to"), "you@x/r");
    EXPECT_EQ(stanza::error_condition(sent[0]), "service-unavailable");
    EXPECT_EQ(sent[0].child("error")->attr_or("type"), "cancel");
}

TEST(StanzaRouter, DroppedResponderAnswersOnce) {
    boost::asio::io_context io;
    client::StanzaRouter router(io);
    std::vector<xml::Element> sent;
    router.set_sender([&](xml::Element e) { sent.push_back(std::move(e)); });
    router.on_iq("get", "urn:t", "q", [](const client::Peer&, const xml::Element&, client::IqResponder) {});
    router.on_iq("set", "urn:t", "q", [](const client::Peer&, const xml::Element&, client::IqResponder r) {
        r.result();
        r.error("bad-request");  // ignored: already answered
    });
    auto iq = stanza::iq("get", {}, "a");
    iq.add("q", "urn:t");
    router.dispatch(iq);
    auto set = stanza::iq("set", {}, "b");
    set.add("q", "urn:t");
    router.dispatch(set);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(stanza::error_condition(sent[0]), "internal-server-error");
    EXPECT_EQ(sent[1].attr_or("type"), "result");
}

TEST(StanzaRouter, BadRequests) {
    boost::asio::io_context io;
    client::StanzaRouter router(io);
    std::vector<xml::Element> sent;
    router.set_sender([&](xml::Element e) { sent.push_back(std::move(e)); });
    auto two = stanza::iq("get", {}, "t");
    two.add("a", "urn:a");
    two.add("b", "urn:b");
    router.dispatch(two);
    auto none = stanza::iq("set", {}, "n");
    router.dispatch(none);
    auto noid = stanza::iq("get");
    noid.add("a", "urn:a");
    router.dispatch(noid);  // cannot be answered
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(stanza::error_condition(sent[0]), "bad-request");
    EXPECT_EQ(stanza::error_condition(sent[1]), "bad-request");
}

TEST(StanzaRouter, ResponsesMatchedByIdAndSender) {
    boost::asio::io_context io;
    client::StanzaRouter router(io);
    router.set_account("me@x", "x");
    std::vector<xml::Element> sent;
    router.set_sender([&](xml::Element e) { sent.push_back(std::move(e)); });
    int calls = 0;
    client::IqResponse got;
    auto req = stanza::iq("get", "peer@x/r");
    req.add("q", "urn:t");
    router.send_iq(req, std::chrono::seconds(5), [&](const client::IqResponse& r) {
        ++calls;
        got = r;
    });
    ASSERT_EQ(sent.size(), 1u);
    std::string id = sent[0].attr_or("id");
    auto spoof = stanza::iq("result", "me@x/a", id);
    spoof.set_attr("from", "evil@x/r");
    router.dispatch(spoof);
    EXPECT_EQ(calls, 0);
    auto err = stanza::error_reply(sent[0], "item-not-found", "nope");
    err.set_attr("from", "PEER@x/r");  // normalised compare
    router.dispatch(err);
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(got.ok());
    EXPECT_EQ(got.error().condition, "item-not-found");
    EXPECT_EQ(got.error().text, "nope");
    router.dispatch(err);  // duplicate response: ignored
    EXPECT_EQ(calls, 1);
}

TEST(StanzaRouter, TimeoutGivesRemoteServerTimeout) {
    boost::asio::io_context io;
    client::StanzaRouter router(io);
    router.set_sender([](xml::Element) {});
    client::IqResponse got;
    auto req = stanza::iq("get", "peer@x/r");
    req.add("q", "urn:t");
    router.send_iq(req, std::chrono::milliseconds(20), [&](const client::IqResponse& r) { got = r; });
    io.run();
    EXPECT_EQ(got.error().condition, "remote-server-timeout");
    EXPECT_EQ(router.pending_requests(), 0u);
}

}  // namespace
