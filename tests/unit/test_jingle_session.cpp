// Jingle core (XEP-0166): the element model, the session state machine on
// both sides, ack-then-act, and the errors a peer gets (unknown-session,
// out-of-order, tie-break, bad-request, unsupported-info), sessions that are
// never accepted, and peers that go away. Two routers talk through an
// in-memory server; a "raw" peer sends hand-made stanzas where a test needs
// to break the protocol.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "jingle_test_server.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/jingle_manager.hpp"

using namespace xpmn;
using namespace xpmn::jingle;

namespace {

constexpr const char* kApp = "urn:example:app";
constexpr const char* kTransportNs = "urn:example:transport";

std::vector<Content> one_content(const char* app = kApp) {
    Content c;
    c.name = "c";
    c.description = xml::Element("description", app);
    c.transport = xml::Element("transport", kTransportNs);
    return {c};
}

Jingle action(Action a, const char* sid, std::vector<Content> contents = {}) {
    Jingle j;
    j.action = a;
    j.sid = sid;
    j.contents = std::move(contents);
    return j;
}

// A peer that speaks Jingle by hand: records the <jingle/> sets it gets
// (answering each with a result) and sends what a test writes.
struct RawPeer {
    RawPeer(jingletest::MemoryServer& server, const char* jid) : jid(jid), router(server.connect(jid)) {
        router.on_iq("set", kNs, "jingle", [this](const client::Peer&, const xml::Element& iq, client::IqResponder r) {
            got.push_back(*parse_jingle(*iq.first_element()));
            r.result();
        });
    }
    // Sends a <jingle/> set; the response lands in `responses`.
    void send(const char* to, Jingle j) {
        auto iq = stanza::iq("set", to);
        iq.add_child(make_jingle(j));
        router.send_iq(std::move(iq), std::chrono::seconds(15),
                       [this](const client::IqResponse& r) { responses.push_back(r); });
    }
    std::string jid;
    client::StanzaRouter& router;
    std::vector<Jingle> got;
    std::vector<client::IqResponse> responses;
};

std::string jingle_condition(const client::IqResponse& r) {
    if (const auto* err = r.stanza.child("error", "jabber:client"))
        if (const auto* c = err->child("", kErrorsNs); c) return c->name();
    if (const auto* err = r.stanza.child("error", "jabber:client"))
        for (const auto* c : err->elements())
            if (c->ns() == kErrorsNs) return c->name();
    return {};
}

struct JingleTest : ::testing::Test {
    boost::asio::io_context io;
    jingletest::MemoryServer server{io};
    client::StanzaRouter& ra = server.connect("home@example.org/phone");
    client::StanzaRouter& rb = server.connect("home@example.org/upnp-1");
    JingleManager a{io, ra, Jid::must_parse("home@example.org/phone")};
    JingleManager b{io, rb, Jid::must_parse("home@example.org/upnp-1")};
    std::vector<xml::Element> wire;  // everything the server routed

    JingleTest() { server.tap = [this](const xml::Element& e) { wire.push_back(e); }; }
    // Runs what is ready (not the pending sessions' timeouts).
    void run() {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    void run_until(const std::function<bool()>& done) {
        io.restart();
        while (!done() && io.run_one() > 0) {
        }
    }
};

TEST(JingleElement, RoundTripsTheWireProfileExample) {
    auto j = action(Action::SessionInitiate, "a73sjjvkla37jfea");
    j.initiator = Jid::must_parse("home@example.org/phone");
    j.contents = one_content();
    j.contents[0].security = xml::Element("security", "urn:xmpp:jingle:security:xtls:0");
    auto back = parse_jingle(make_jingle(j));
    ASSERT_TRUE(back) << back.error().describe();
    EXPECT_EQ(back->action, Action::SessionInitiate);
    EXPECT_EQ(back->sid, j.sid);
    EXPECT_EQ(back->initiator->str(), "home@example.org/phone");
    ASSERT_EQ(back->contents.size(), 1u);
    EXPECT_EQ(back->contents[0].description->ns(), kApp);
    EXPECT_EQ(back->contents[0].transport->ns(), kTransportNs);
    EXPECT_TRUE(back->contents[0].security);
    EXPECT_EQ(back->description_ns(), kApp);

    auto t = action(Action::SessionTerminate, "s");
    t.reason = Reason{"security-error", "bad fingerprint", {}};
    auto tb = parse_jingle(make_jingle(t));
    ASSERT_TRUE(tb);
    EXPECT_EQ(tb->reason->condition, "security-error");
    EXPECT_EQ(tb->reason->text, "bad fingerprint");
}

TEST(JingleElement, MalformedElementsAreBadRequests) {
    auto bad_action = xml::Element("jingle", kNs);
    bad_action.set_attr("action", "session-dance").set_attr("sid", "s");
    EXPECT_EQ(parse_jingle(bad_action).error().condition, "bad-request");
    auto no_sid = xml::Element("jingle", kNs);
    no_sid.set_attr("action", "session-info");
    EXPECT_EQ(parse_jingle(no_sid).error().condition, "bad-request");
    auto bad_creator = xml::Element("jingle", kNs);
    bad_creator.set_attr("action", "session-info").set_attr("sid", "s");
    bad_creator.add("content").set_attr("creator", "nobody").set_attr("name", "c");
    EXPECT_EQ(parse_jingle(bad_creator).error().condition, "bad-request");
    auto empty_reason = xml::Element("jingle", kNs);
    empty_reason.set_attr("action", "session-terminate").set_attr("sid", "s");
    empty_reason.add("reason");
    EXPECT_EQ(parse_jingle(empty_reason).error().condition, "bad-request");
}

TEST(JingleElement, TooManyContentsAreRefused) {
    auto make = [](std::size_t n) {
        auto j = xml::Element("jingle", kNs);
        j.set_attr("action", "session-info").set_attr("sid", "s");
        for (std::size_t i = 0; i < n; ++i)
            j.add("content").set_attr("creator", "initiator").set_attr("name", "c" + std::to_string(i));
        return j;
    };
    EXPECT_TRUE(parse_jingle(make(kMaxContents)).ok());
    auto refused = parse_jingle(make(kMaxContents + 1));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().condition, "bad-request");
}

TEST_F(JingleTest, AcceptedThenTerminatedWithAckBeforeEveryAction) {
    SessionPtr incoming;
    b.on_application(kApp, [&](SessionPtr s, const Jingle& initiate) {
        EXPECT_EQ(s->peer().jid.str(), "home@example.org/phone");
        EXPECT_EQ(initiate.initiator->str(), "home@example.org/phone");
        incoming = s;
        s->accept(one_content());  // acts at once: the ack must still leave first
    });
    bool accepted = false;
    std::optional<Reason> a_ended, b_ended;
    bool b_by_peer = false;
    auto out = a.initiate(Jid::must_parse("home@example.org/upnp-1"), one_content(),
                          {.on_accepted = [&](const Jingle& j) {
                               accepted = true;
                               EXPECT_EQ(j.responder->str(), "home@example.org/upnp-1");
                           },
                           .on_ended = [&](const Reason& r, bool) { a_ended = r; }});
    EXPECT_EQ(out->state(), Session::State::Pending);
    run();
    ASSERT_TRUE(incoming);
    EXPECT_TRUE(accepted);
    EXPECT_EQ(out->state(), Session::State::Active);
    EXPECT_EQ(incoming->state(), Session::State::Active);
    EXPECT_EQ(incoming->sid(), out->sid());
    // On the wire: initiate, its ack, accept, its ack — in that order.
    ASSERT_EQ(wire.size(), 4u);
    EXPECT_EQ(wire[0].first_element()->attr_or("action"), "session-initiate");
    EXPECT_EQ(wire[1].attr_or("type"), "result");
    EXPECT_EQ(wire[1].attr_or("id"), wire[0].attr_or("id"));
    EXPECT_EQ(wire[2].first_element()->attr_or("action"), "session-accept");
    EXPECT_EQ(wire[3].attr_or("type"), "result");

    incoming->set_handlers({.on_ended = [&](const Reason& r, bool by_peer) {
        b_ended = r;
        b_by_peer = by_peer;
    }});
    out->terminate(Reason{"success", {}, {}});
    EXPECT_EQ(out->state(), Session::State::Ended);  // at once (§6.7)
    run();
    ASSERT_TRUE(a_ended && b_ended);
    EXPECT_EQ(b_ended->condition, "success");
    EXPECT_TRUE(b_by_peer);
    EXPECT_EQ(a.session_count(), 0u);
    EXPECT_EQ(b.session_count(), 0u);
}

TEST_F(JingleTest, ActionsForAnUnknownSessionGetUnknownSession) {
    RawPeer p(server, "friend@example.net/phone");
    p.send("home@example.org/upnp-1", action(Action::TransportInfo, "nosuchsession"));
    run();
    ASSERT_EQ(p.responses.size(), 1u);
    EXPECT_EQ(p.responses[0].error().condition, "item-not-found");
    EXPECT_EQ(jingle_condition(p.responses[0]), "unknown-session");
    EXPECT_FALSE(p.responses[0].error().text.empty());
}

TEST_F(JingleTest, AnotherPeerCannotReachASessionBySid) {
    b.on_application(kApp, [](SessionPtr, const Jingle&) {});
    RawPeer owner(server, "friend@example.net/phone");
    RawPeer intruder(server, "mallory@example.net/x");
    owner.send("home@example.org/upnp-1", action(Action::SessionInitiate, "shared", one_content()));
    run();
    intruder.send("home@example.org/upnp-1", action(Action::SessionTerminate, "shared"));
    run();
    ASSERT_EQ(intruder.responses.size(), 1u);
    EXPECT_EQ(jingle_condition(intruder.responses[0]), "unknown-session");
    EXPECT_EQ(b.session_count(), 1u);
}

TEST_F(JingleTest, ActionsOutOfOrderAreRefused) {
    SessionPtr incoming;
    b.on_application(kApp, [&](SessionPtr s, const Jingle&) { incoming = s; });
    RawPeer p(server, "friend@example.net/phone");
    p.send("home@example.org/upnp-1", action(Action::SessionInitiate, "s1", one_content()));
    run();
    ASSERT_TRUE(incoming);
    auto accept = action(Action::SessionAccept, "s1");  // the initiator cannot accept its own session
    accept.contents = one_content();
    p.send("home@example.org/upnp-1", accept);
    // a second session-initiate for the same session
    p.send("home@example.org/upnp-1", action(Action::SessionInitiate, "s1", one_content()));
    auto answer = action(Action::TransportAccept, "s1");  // a transport-accept without a transport-replace
    p.send("home@example.org/upnp-1", answer);
    run();
    ASSERT_EQ(p.responses.size(), 4u);
    EXPECT_TRUE(p.responses[0].ok());
    for (int i = 1; i < 4; ++i) {
        EXPECT_EQ(p.responses[i].error().condition, "unexpected-request") << i;
        EXPECT_EQ(jingle_condition(p.responses[i]), "out-of-order") << i;
    }
    EXPECT_EQ(incoming->state(), Session::State::Pending);
}

TEST_F(JingleTest, MalformedInitiatesAndUnknownActionsAreBadRequests) {
    RawPeer p(server, "friend@example.net/phone");
    p.send("home@example.org/upnp-1", action(Action::SessionInitiate, "s1"));
    auto iq = stanza::iq("set", "home@example.org/upnp-1");
    iq.add("jingle", kNs).set_attr("action", "session-dance").set_attr("sid", "s2");
    p.router.send_iq(iq, std::chrono::seconds(15), [&](const client::IqResponse& r) { p.responses.push_back(r); });
    run();
    ASSERT_EQ(p.responses.size(), 2u);
    EXPECT_EQ(p.responses[0].error().condition, "bad-request");
    EXPECT_EQ(p.responses[1].error().condition, "bad-request");
    EXPECT_EQ(b.session_count(), 0u);
}

TEST_F(JingleTest, AnUnknownApplicationIsAcknowledgedThenTerminated) {
    RawPeer p(server, "friend@example.net/phone");
    p.send("home@example.org/upnp-1", action(Action::SessionInitiate, "s1", one_content("urn:example:unknown")));
    run();
    ASSERT_EQ(p.responses.size(), 1u);
    EXPECT_TRUE(p.responses[0].ok());
    ASSERT_EQ(p.got.size(), 1u);
    EXPECT_EQ(p.got[0].action, Action::SessionTerminate);
    EXPECT_EQ(p.got[0].reason->condition, "unsupported-applications");
    EXPECT_EQ(b.session_count(), 0u);
}

TEST_F(JingleTest, SessionPingIsAnsweredAndUnknownInfoIsUnsupported) {
    b.on_application(kApp, [](SessionPtr s, const Jingle&) { s->accept(one_content()); });
    RawPeer p(server, "friend@example.net/phone");
    auto init = action(Action::SessionInitiate, "s1", one_content());
    p.send("home@example.org/upnp-1", init);
    run();
    auto ping = action(Action::SessionInfo, "s1");
    p.send("home@example.org/upnp-1", ping);
    Jingle ringing = ping;
    ringing.payloads.push_back(xml::Element("ringing", "urn:xmpp:jingle:apps:rtp:1:info"));
    p.send("home@example.org/upnp-1", ringing);
    run();
    ASSERT_EQ(p.responses.size(), 3u);
    EXPECT_TRUE(p.responses[1].ok());
    EXPECT_EQ(p.responses[2].error().condition, "feature-not-implemented");
    EXPECT_EQ(jingle_condition(p.responses[2]), "unsupported-info");
}

TEST_F(JingleTest, CrossingInitiatesLeaveOneSessionTheLowerSids) {
    std::vector<SessionPtr> at_a, at_b;
    a.on_application(kApp, [&](SessionPtr s, const Jingle&) { at_a.push_back(s); s->accept(one_content()); });
    b.on_application(kApp, [&](SessionPtr s, const Jingle&) { at_b.push_back(s); s->accept(one_content()); });
    std::optional<Reason> a_out_end, b_out_end;
    auto from_a = a.initiate(Jid::must_parse("home@example.org/upnp-1"), one_content(),
                             {.on_ended = [&](const Reason& r, bool) { a_out_end = r; }});
    auto from_b = b.initiate(Jid::must_parse("home@example.org/phone"), one_content(),
                             {.on_ended = [&](const Reason& r, bool) { b_out_end = r; }});
    run();
    bool a_wins = from_a->sid() < from_b->sid();
    auto winner = a_wins ? from_a : from_b;
    auto loser = a_wins ? from_b : from_a;
    EXPECT_EQ(winner->state(), Session::State::Active);
    EXPECT_EQ(loser->state(), Session::State::Ended);
    EXPECT_EQ(a.session_count(), 1u);
    EXPECT_EQ(b.session_count(), 1u);
    auto& accepted_at = a_wins ? at_b : at_a;
    ASSERT_EQ(accepted_at.size(), 1u);
    EXPECT_EQ(accepted_at[0]->sid(), winner->sid());
    EXPECT_TRUE(a_wins ? at_a.empty() : at_b.empty());
    // The loser's initiate was refused with conflict + tie-break.
    bool saw_tie_break = false;
    for (const auto& e : wire)
        if (const auto* err = e.child("error", "jabber:client"))
            saw_tie_break |= err->child("conflict", ns::stanzas) && err->child("tie-break", kErrorsNs);
    EXPECT_TRUE(saw_tie_break);
}

// Equal sids from both sides: the action of the lower JID wins.
void same_sid_tie(bool peer_is_lower) {
    boost::asio::io_context io;
    jingletest::MemoryServer server{io};
    const char* me = "home@example.org/m";
    const char* peer_jid = peer_is_lower ? "home@example.org/a" : "home@example.org/z";
    auto& rm = server.connect(me);
    JingleManager m{io, rm, Jid::must_parse(me)};
    std::vector<SessionPtr> incoming;
    m.on_application(kApp, [&](SessionPtr s, const Jingle&) { incoming.push_back(s); });
    RawPeer p(server, peer_jid);
    p.router.on_iq("set", kNs, "jingle", [&](const client::Peer&, const xml::Element& iq, client::IqResponder r) {
        p.got.push_back(*parse_jingle(*iq.first_element()));
        // The peer crossed with its own initiate under the same sid before answering ours.
        Jingle theirs;
        theirs.action = Action::SessionInitiate;
        theirs.sid = p.got.back().sid;
        theirs.contents = one_content();
        p.send(me, theirs);
        r.result();
    });
    std::optional<Reason> ours_ended;
    auto ours = m.initiate(Jid::must_parse(peer_jid), one_content(),
                           {.on_ended = [&](const Reason& r, bool) { ours_ended = r; }});
    while (io.poll() > 0) {
    }
    ASSERT_EQ(p.responses.size(), 1u);
    if (peer_is_lower) {
        EXPECT_TRUE(p.responses[0].ok());
        ASSERT_EQ(incoming.size(), 1u);
        EXPECT_EQ(incoming[0]->sid(), ours->sid());
        EXPECT_TRUE(ours_ended);
        EXPECT_EQ(m.find(Jid::must_parse(peer_jid), ours->sid()), incoming[0]);
    } else {
        EXPECT_EQ(p.responses[0].error().condition, "conflict");
        EXPECT_EQ(jingle_condition(p.responses[0]), "tie-break");
        EXPECT_TRUE(incoming.empty());
        EXPECT_EQ(ours->state(), Session::State::Pending);
    }
}

TEST(JingleTieBreak, SameSidThePeersWinsWhenItsJidIsLower) { same_sid_tie(true); }
TEST(JingleTieBreak, SameSidOursWinsWhenOurJidIsLower) { same_sid_tie(false); }

TEST_F(JingleTest, CrossingTransportReplacesTheInitiatorsWins) {
    SessionPtr incoming;
    std::vector<Jingle> replaces_at_b;
    b.on_application(kApp, [&](SessionPtr s, const Jingle&) {
        incoming = s;
        s->set_handlers({.on_transport_replace = [&](const Jingle& j) { replaces_at_b.push_back(j); }});
        s->accept(one_content());
    });
    std::vector<Jingle> replaces_at_a;
    auto out = a.initiate(Jid::must_parse("home@example.org/upnp-1"), one_content(),
                          {.on_transport_replace = [&](const Jingle& j) { replaces_at_a.push_back(j); }});
    run();
    ASSERT_TRUE(incoming);
    Jingle replace;
    replace.action = Action::TransportReplace;
    replace.contents = one_content();
    std::optional<client::IqResponse> a_answer, b_answer;
    out->send(replace, [&](const client::IqResponse& r) { a_answer = r; });
    incoming->send(replace, [&](const client::IqResponse& r) { b_answer = r; });
    run();
    ASSERT_TRUE(a_answer && b_answer);
    EXPECT_TRUE(a_answer->ok());
    EXPECT_EQ(b_answer->error().condition, "conflict");
    EXPECT_EQ(jingle_condition(*b_answer), "tie-break");
    EXPECT_EQ(replaces_at_b.size(), 1u);
    EXPECT_TRUE(replaces_at_a.empty());
}

TEST_F(JingleTest, ASessionNeverAcceptedTimesOut) {
    RawPeer p(server, "friend@example.net/phone");
    std::optional<Reason> ended;
    auto out = a.initiate(Jid::must_parse("friend@example.net/phone"), one_content(),
                          {.on_ended = [&](const Reason& r, bool) { ended = r; }}, std::chrono::milliseconds(20));
    run_until([&] { return ended && p.got.size() == 2; });
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->condition, "timeout");
    ASSERT_EQ(p.got.size(), 2u);
    EXPECT_EQ(p.got[1].action, Action::SessionTerminate);
    EXPECT_EQ(p.got[1].reason->condition, "timeout");
    EXPECT_EQ(a.session_count(), 0u);
}

TEST_F(JingleTest, AnInitiateToNobodyEndsTheSession) {
    std::optional<Reason> ended;
    bool by_peer = false;
    a.initiate(Jid::must_parse("home@example.org/gone"), one_content(), {.on_ended = [&](const Reason& r, bool p) {
                   ended = r;
                   by_peer = p;
               }});
    run();
    ASSERT_TRUE(ended);
    EXPECT_TRUE(by_peer);
    EXPECT_NE(ended->text.find("service-unavailable"), std::string::npos);
    EXPECT_EQ(a.session_count(), 0u);
}

TEST_F(JingleTest, ThePeersUnavailablePresenceEndsItsSessions) {
    b.on_application(kApp, [](SessionPtr s, const Jingle&) { s->accept(one_content()); });
    std::optional<Reason> ended;
    auto out = a.initiate(Jid::must_parse("home@example.org/upnp-1"), one_content(),
                          {.on_ended = [&](const Reason& r, bool) { ended = r; }});
    run();
    ASSERT_EQ(out->state(), Session::State::Active);
    xml::Element other("presence", "jabber:client");  // someone else leaving changes nothing
    other.set_attr("type", "unavailable").set_attr("from", "home@example.org/tv");
    ra.dispatch(other);
    EXPECT_FALSE(ended);
    // Nor does one from the bare JID: servers send it to acknowledge a
    // subscription request or answer a probe (Prosody), while resources are online.
    other.set_attr("from", "home@example.org");
    ra.dispatch(other);
    EXPECT_FALSE(ended);
    xml::Element presence("presence", "jabber:client");
    presence.set_attr("type", "unavailable").set_attr("from", "home@example.org/upnp-1");
    ra.dispatch(presence);
    ASSERT_TRUE(ended);
    EXPECT_EQ(out->state(), Session::State::Ended);
    run();
    EXPECT_EQ(a.session_count(), 0u);
    EXPECT_EQ(b.session_count(), 0u);  // it was told with session-terminate
}

TEST_F(JingleTest, UnhandledReplacesAndContentAddsAreRejected) {
    b.on_application(kApp, [](SessionPtr s, const Jingle&) { s->accept(one_content()); });
    RawPeer p(server, "friend@example.net/phone");
    p.send("home@example.org/upnp-1", action(Action::SessionInitiate, "s1", one_content()));
    run();
    p.send("home@example.org/upnp-1", action(Action::TransportReplace, "s1", one_content()));
    p.send("home@example.org/upnp-1", action(Action::ContentAdd, "s1", one_content()));
    run();
    ASSERT_EQ(p.responses.size(), 3u);
    EXPECT_TRUE(p.responses[1].ok() && p.responses[2].ok());  // acknowledged, then answered
    ASSERT_EQ(p.got.size(), 3u);  // session-accept, transport-reject, content-reject
    EXPECT_EQ(p.got[1].action, Action::TransportReject);
    EXPECT_EQ(p.got[2].action, Action::ContentReject);
}

TEST_F(JingleTest, APeerCannotStartSessionsWithoutBound) {
    b.on_application(kApp, [](SessionPtr, const Jingle&) {});
    RawPeer p(server, "friend@example.net/phone");
    for (int i = 0; i < 9; ++i)
        p.send("home@example.org/upnp-1", action(Action::SessionInitiate, ("s" + std::to_string(i)).c_str(), one_content()));
    run();
    ASSERT_EQ(p.responses.size(), 9u);
    for (int i = 0; i < 8; ++i) EXPECT_TRUE(p.responses[i].ok()) << i;
    EXPECT_EQ(p.responses[8].error().condition, "resource-constraint");
    EXPECT_EQ(b.session_count(), 8u);
}

TEST_F(JingleTest, ADestroyedManagerForgetsItsSessionsAndAnswersLaterIqs) {
    RawPeer p(server, "friend@example.net/phone");
    bool ended = false;
    {
        client::StanzaRouter& rc = server.connect("home@example.org/c");
        auto c = std::make_unique<JingleManager>(io, rc, Jid::must_parse("home@example.org/c"));
        c->initiate(Jid::must_parse("friend@example.net/phone"), one_content(),
                    {.on_ended = [&](const Reason&, bool) { ended = true; }});
        c.reset();
    }
    EXPECT_FALSE(ended);  // quietly
    p.send("home@example.org/c", action(Action::SessionInfo, "x"));
    run();
    ASSERT_FALSE(p.responses.empty());
    EXPECT_EQ(p.responses.back().error().condition, "service-unavailable");
}

}  // namespace
