// The OOB application end to end (wire profile §6.2): two routers through an
// in-memory server, Jingle on each, a primary transport (IBB, or a fake that
// fails like S5B with no working candidate) with the fallback to IBB, raw
// TLS (x509) on top, and bytes both ways. Refusals, TLS failures, ends from
// either side, and one session per controller–device pair.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include "tests/unit/failing_transport.hpp"
#include "tests/unit/jingle_pair.hpp"
#include "tests/unit/oob_test_stream.hpp"
#include "xmpp/jingle/ibb_transport.hpp"
#include "xmpp/jingle/oob_session.hpp"

using namespace xpmn;
using namespace xpmn::jingle;
using jingletest::FailingTransport;
using jingletest::identity;
using jingletest::kDevice;
using jingletest::kPhone;
using jingletest::kS5bNs;

namespace {

struct OobTest : jingletest::PhoneAndDevice {
    std::set<std::string> device_trusts{phone_cert.sha256};
    bool device_tls_trusts = true;  // the trust check inside TLS (the policy may say otherwise)
    std::vector<std::string> security_failures;
    std::vector<OobLink> device_links;
    std::unique_ptr<OobResponder> responder;
    std::vector<std::shared_ptr<FailingTransport>> fakes;  // made by either side
    std::optional<OobLink> phone_link;
    std::optional<Error> phone_error;
    int phone_calls = 0;
    bool defer_prepare = false;  // the fakes made from now on wait in prepare()

    OobTest() {
        record_the_wire();
        responder = std::make_unique<OobResponder>(
            device, xtls::Security{device_cert.sha256, {}},
            [this](const client::Peer& peer, const xtls::Security& offer) { return policy(peer, offer); },
            [this](const client::Peer& peer, OobLink l) {
                EXPECT_EQ(peer.jid.str(), kPhone);
                EXPECT_TRUE(peer.end_to_end());
                EXPECT_EQ(peer.fingerprint, phone_cert.sha256);
                device_links.push_back(std::move(l));
            });
        responder->transport = [this](const TransportContext& ctx, const xml::Element& offer) -> Result<TransportPtr> {
            if (offer.ns() != kS5bNs) return Error{"unsupported-transports", "no"};
            fakes.push_back(std::make_shared<FailingTransport>(ctx));
            fakes.back()->defers = defer_prepare;
            return TransportPtr(fakes.back());
        };
    }
    ~OobTest() override {
        server.tap = nullptr;
        server.drop = nullptr;
    }

    Acceptance policy(const client::Peer&, const xtls::Security& offer) {
        Acceptance a;
        if (device_trusts.count(offer.fingerprint)) a.methods.push_back(xtls::Method::X509);
        a.params.identity = identity(device_cert);
        a.params.trusted = [this](const std::string& fp) { return device_tls_trusts && device_trusts.count(fp) > 0; };
        a.on_security_failure = [this](const std::string& why) { security_failures.push_back(why); };
        return a;
    }

    OpenOob request(bool failing_primary = false) {
        OpenOob r;
        r.peer = Jid::must_parse(kDevice);
        r.offer = xtls::Security{phone_cert.sha256, {xtls::Method::X509}};
        r.params.identity = identity(phone_cert);
        r.params.trusted = [this](const std::string& fp) { return fp == device_cert.sha256; };
        if (failing_primary)
            r.transport = [this](const TransportContext& ctx) {
                fakes.push_back(std::make_shared<FailingTransport>(ctx));
                fakes.back()->defers = defer_prepare;
                return fakes.back();
            };
        return r;
    }
    void open(OpenOob r) {
        open_oob(phone, std::move(r), [this](Result<OobLink> l) {
            ++phone_calls;
            if (l) phone_link = *l;
            else phone_error = l.error();
        });
        run();
    }
    SessionPtr phone_session() {
        if (!initiate) return nullptr;
        return phone.find(Jid::must_parse(kDevice), initiate->sid);
    }
    void run() {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    void expect_all_gone() {
        EXPECT_EQ(phone.session_count(), 0u);
        EXPECT_EQ(device.session_count(), 0u);
        EXPECT_EQ(phone.ibb().size(), 0u);
        EXPECT_EQ(device.ibb().size(), 0u);
    }
    void expect_refused_with_security_error() {
        EXPECT_EQ(phone_calls, 1);
        ASSERT_TRUE(phone_error);
        EXPECT_EQ(phone_error->condition, "security-error");
        EXPECT_TRUE(device_links.empty());
        ASSERT_FALSE(terminates.empty());
        EXPECT_EQ(terminates[0].reason->condition, "security-error");
        expect_all_gone();
    }
    // Both links up, a reader on each end.
    void connect_endpoints(test_oob::Endpoint& p, test_oob::Endpoint& d) {
        ASSERT_TRUE(phone_link) << phone_error->describe();
        ASSERT_EQ(device_links.size(), 1u);
        p.attach(phone_link->stream);
        d.attach(device_links[0].stream);
    }
    void expect_bytes_both_ways(std::size_t up_size, std::size_t down_size) {
        test_oob::Endpoint p, d;
        ASSERT_NO_FATAL_FAILURE(connect_endpoints(p, d));
        p.pause_every = d.pause_every = 64 * 1024;
        const std::string up = test_oob::pattern(up_size, 3), down = test_oob::pattern(down_size, 4);
        p.send(up);
        d.send(down);
        run();
        EXPECT_EQ(d.received.size(), up.size());
        EXPECT_TRUE(d.received == up);
        EXPECT_EQ(p.received.size(), down.size());
        EXPECT_TRUE(p.received == down);
        EXPECT_GT(p.pauses + d.pauses, 0);
        EXPECT_FALSE(p.closed);
        EXPECT_FALSE(d.closed);
    }
};

TEST_F(OobTest, TrustedBothWaysBytesFlowBothWaysOverTheSecuredStream) {
    open(request());
    ASSERT_EQ(phone_calls, 1);
    ASSERT_TRUE(phone_link) << phone_error->describe();
    ASSERT_EQ(device_links.size(), 1u);
    EXPECT_EQ(phone_link->stream->peer_fingerprint(), device_cert.sha256);
    EXPECT_EQ(device_links[0].stream->peer_fingerprint(), phone_cert.sha256);
    EXPECT_EQ(device_links[0].session->peer().jid.str(), kPhone);
    EXPECT_EQ(phone_link->session->peer().fingerprint, device_cert.sha256);
    EXPECT_TRUE(phone_link->session->peer().end_to_end());
    expect_bytes_both_ways(1024 * 1024 + 7, 300 * 1024 + 1);
    EXPECT_TRUE(terminates.empty());
    EXPECT_EQ(responder->session_count(), 1u);
}

TEST_F(OobTest, TheOfferIsX509OnlyWithTheOutOfBandDescription) {
    std::optional<Jingle> initiate;
    server.tap = [&](const xml::Element& e) {
        if (const auto* j = e.child("jingle", kNs); j && j->attr_or("action") == "session-initiate")
            initiate = *parse_jingle(*j);
    };
    open(request());
    ASSERT_TRUE(initiate);
    ASSERT_EQ(initiate->contents.size(), 1u);
    const Content& c = initiate->contents[0];
    EXPECT_EQ(c.description->ns(), kOobNs);
    EXPECT_EQ(c.transport->ns(), kIbbTransportNs);
    auto security = xtls::parse_security(*c.security);
    ASSERT_TRUE(security);
    EXPECT_EQ(security->methods, std::vector<xtls::Method>{xtls::Method::X509});
    EXPECT_EQ(security->fingerprint, phone_cert.sha256);
}

TEST_F(OobTest, AnUntrustedInitiatorIsRefusedAndNoBytesFlow) {
    device_trusts.clear();
    open(request());
    expect_refused_with_security_error();
    EXPECT_TRUE(security_failures.empty());  // refused by policy, before any TLS
}

TEST_F(OobTest, ADeviceThePhoneDoesNotTrustFailsTheHandshake) {
    auto r = request();
    r.params.trusted = [](const std::string&) { return false; };
    open(std::move(r));
    expect_refused_with_security_error();
}

// TLS 1.3: the phone's handshake is over before the device refused its
// certificate. The phone may hold a link for a moment, but its stream
// reports an error and no byte it wrote reaches the device.
TEST_F(OobTest, ADeviceRefusingThePhonesCertificateInTlsIsASecurityError) {
    device_tls_trusts = false;
    open(request());
    EXPECT_EQ(phone_calls, 1);
    EXPECT_TRUE(device_links.empty());
    EXPECT_EQ(security_failures.size(), 1u);
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "security-error");
    ASSERT_TRUE(phone_link) << "TLS 1.3 lets the client finish first";
    test_oob::Endpoint p;
    p.attach(phone_link->stream);
    p.send("secret");
    run();
    ASSERT_TRUE(p.closed);
    EXPECT_NE(*p.closed, "");
    EXPECT_TRUE(p.received.empty());
    EXPECT_TRUE(phone_link->session->ended());
    expect_all_gone();
}

TEST_F(OobTest, AFailedPrimaryTransportFallsBackToIbbByTransportReplace) {
    open(request(true));
    ASSERT_TRUE(phone_link) << phone_error->describe();
    ASSERT_EQ(fakes.size(), 2u);  // the phone's and the device's
    // Each side's transport-info reached the other side's transport.
    for (const auto& f : fakes) {
        ASSERT_EQ(f->infos.size(), 1u);
        EXPECT_TRUE(f->infos[0].child("candidate-error", kS5bNs));
    }
    auto replace = std::find(sets.begin(), sets.end(), "transport-replace");
    ASSERT_NE(replace, sets.end());
    auto accept = std::find(replace, sets.end(), "transport-accept");
    ASSERT_NE(accept, sets.end());
    EXPECT_NE(std::find(accept, sets.end(), "open"), sets.end());  // IBB after the accept
    EXPECT_TRUE(fakes[0]->cancelled);
    EXPECT_TRUE(fakes[1]->cancelled);
    expect_bytes_both_ways(256 * 1024, 256 * 1024);
}

TEST_F(OobTest, TheDeviceRejectsATransportReplaceToAnythingButIbb) {
    auto r = request(true);
    auto inner = r.transport;
    r.transport = [&](const TransportContext& ctx) {
        auto t = inner(ctx);
        fakes.back()->hangs = true;  // the phone never falls back by itself
        return t;
    };
    open(std::move(r));
    ASSERT_EQ(phone.session_count(), 1u);
    ASSERT_EQ(device.session_count(), 1u);
    std::vector<std::string> answers;
    server.tap = [&](const xml::Element& e) {
        if (const auto* j = e.child("jingle", kNs); j && e.attr_or("from") == kDevice)
            answers.push_back(j->attr_or("action"));
    };
    Jingle replace;
    replace.action = Action::TransportReplace;
    Content c;
    c.name = "oob";
    c.transport = xml::Element("transport", kS5bNs);
    replace.contents.push_back(c);
    phone_session()->send(replace);
    run();
    EXPECT_EQ(answers, std::vector<std::string>{"transport-reject"});
    // The phone's application hears the reject and gives up with failed-transport.
    ASSERT_EQ(phone_calls, 1);
    EXPECT_EQ(phone_error->condition, kTransportFailed);
    expect_all_gone();
}

// An srp-only (pairing) offer is not an OOB session: security-error, whoever sends it.
TEST_F(OobTest, TheDeviceRefusesOffersWithoutX509) {
    for (auto methods : {std::vector<xtls::Method>{xtls::Method::Srp}, std::vector<xtls::Method>{}}) {
        terminates.clear();
        Content c;
        c.name = "oob";
        c.description = xml::Element("description", kOobNs);
        c.transport = IbbTransport::offer(phone.ibb(), Jid::must_parse(kDevice), {})->element();
        c.security = xtls::make_security(xtls::Security{phone_cert.sha256, methods});
        phone.initiate(Jid::must_parse(kDevice), {c}, {});
        run();
        ASSERT_EQ(terminates.size(), 1u);
        EXPECT_EQ(terminates[0].reason->condition, "security-error");
        EXPECT_TRUE(device_links.empty());
        expect_all_gone();
    }
}

// Either side's session-terminate closes the other's stream with an error
// its reader sees; nothing stays behind.
void terminate_from(OobTest& t, bool phone_ends) {
    t.open(t.request());
    test_oob::Endpoint p, d;
    ASSERT_NO_FATAL_FAILURE(t.connect_endpoints(p, d));
    (phone_ends ? t.phone : t.device).terminate_all(Reason{"gone", {}, {}});
    t.run();
    ASSERT_TRUE(p.closed);
    ASSERT_TRUE(d.closed);
    EXPECT_NE(*(phone_ends ? d.closed : p.closed), "");
    EXPECT_TRUE(t.phone_link->session->ended());
    EXPECT_TRUE(t.device_links[0].session->ended());
    t.expect_all_gone();
}
TEST_F(OobTest, ThePhonesSessionTerminateClosesTheDevicesStream) { terminate_from(*this, true); }
TEST_F(OobTest, TheDevicesSessionTerminateClosesThePhonesStream) { terminate_from(*this, false); }

// Closing the stream (or releasing the handle) ends the session with
// <success/> after the data: the other side reads everything, then a clean end.
void close_from(OobTest& t, bool phone_closes, bool by_handle) {
    t.open(t.request());
    test_oob::Endpoint p, d;
    ASSERT_NO_FATAL_FAILURE(t.connect_endpoints(p, d));
    auto& closer = phone_closes ? p : d;
    auto& other = phone_closes ? d : p;
    const std::string last = test_oob::pattern(100 * 1024, 9);
    closer.stream->write(last);
    if (by_handle) {
        if (phone_closes) t.phone_link.reset();
        else t.device_links.clear();
    } else {
        closer.stream->close();
    }
    t.run();
    EXPECT_TRUE(other.received == last);
    ASSERT_TRUE(other.closed);
    EXPECT_EQ(*other.closed, "");
    ASSERT_FALSE(t.terminates.empty());
    EXPECT_EQ(t.terminates[0].reason->condition, "success");
    auto terminate = std::find(t.sets.begin(), t.sets.end(), "session-terminate");
    EXPECT_EQ(std::find(terminate, t.sets.end(), "data"), t.sets.end());  // after the last IBB data
    t.expect_all_gone();
}
TEST_F(OobTest, ClosingThePhonesStreamEndsTheSessionAfterTheData) { close_from(*this, true, false); }
TEST_F(OobTest, ClosingTheDevicesStreamEndsTheSessionAfterTheData) { close_from(*this, false, false); }
TEST_F(OobTest, ReleasingThePhonesHandleEndsTheSessionAfterTheData) { close_from(*this, true, true); }
TEST_F(OobTest, ReleasingTheDevicesHandleEndsTheSessionAfterTheData) { close_from(*this, false, true); }

// One OOB session per controller–device pair: a second session-initiate
// from the same phone replaces the first (ended with <cancel/>).
TEST_F(OobTest, ASecondSessionFromTheSamePeerReplacesTheFirst) {
    open(request());
    ASSERT_TRUE(phone_link);
    auto first = *phone_link;
    test_oob::Endpoint p1, d1;
    p1.attach(first.stream);
    d1.attach(device_links.at(0).stream);
    phone_link.reset();
    open(request());
    ASSERT_TRUE(phone_link) << phone_error->describe();
    ASSERT_EQ(device_links.size(), 2u);
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "cancel");
    EXPECT_TRUE(first.session->ended());
    EXPECT_TRUE(device_links[0].session->ended());
    ASSERT_TRUE(p1.closed);
    EXPECT_NE(*p1.closed, "");
    ASSERT_TRUE(d1.closed);
    EXPECT_EQ(responder->session_count(), 1u);
    EXPECT_EQ(device.session_count(), 1u);
    EXPECT_EQ(phone.session_count(), 1u);
    device_links.erase(device_links.begin());
    expect_bytes_both_ways(64 * 1024, 64 * 1024);
}

// The device's primary failed and the phone never replaces it: the device
// gives up after replace_wait with <failed-transport/>.
TEST_F(OobTest, TheDeviceGivesUpWhenNoFallbackComes) {
    responder->replace_wait = std::chrono::milliseconds(10);
    auto r = request(true);
    auto inner = r.transport;
    r.transport = [&](const TransportContext& ctx) {
        auto t = inner(ctx);
        fakes.back()->hangs = true;
        return t;
    };
    open(std::move(r));
    ASSERT_EQ(device.session_count(), 1u);
    io.restart();
    while (device.session_count() > 0 && io.run_one() > 0) {
    }
    run();
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, kTransportFailed);
    ASSERT_TRUE(phone_error);
    EXPECT_EQ(phone_error->condition, kTransportFailed);
    expect_all_gone();
}

// The device's reader is paused when the phone writes its last bytes and
// closes: the session ends only after they were read, and nothing is lost.
TEST_F(OobTest, APausedReaderGetsEverythingBeforeTheCleanEnd) {
    open(request());
    test_oob::Endpoint p, d;
    ASSERT_NO_FATAL_FAILURE(connect_endpoints(p, d));
    d.stream->pause_reading();
    const std::string last = test_oob::pattern(400 * 1024, 5);
    p.stream->write(last);
    p.stream->close();
    run();
    EXPECT_LT(d.received.size(), last.size());
    EXPECT_FALSE(d.closed);
    d.stream->resume_reading();
    run();
    EXPECT_TRUE(d.received == last);
    ASSERT_TRUE(d.closed);
    EXPECT_EQ(*d.closed, "");
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "success");
    expect_all_gone();
}

// Aborting the stream ends the session with <cancel/>; the peer's reader sees an error.
TEST_F(OobTest, AbortingTheStreamCancelsTheSession) {
    open(request());
    test_oob::Endpoint p, d;
    ASSERT_NO_FATAL_FAILURE(connect_endpoints(p, d));
    p.stream->abort();
    run();
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "cancel");
    ASSERT_TRUE(d.closed);
    EXPECT_NE(*d.closed, "");
    expect_all_gone();
}

// The controller gives up while the session is being set up: no callback,
// <cancel/> on the wire, nothing left on either side.
TEST_F(OobTest, GivingUpWhileOpeningEndsQuietly) {
    for (int step : {0, 1, 3}) {
        terminates.clear();
        auto cancel = open_oob(phone, request(), [this](Result<OobLink>) { ++phone_calls; });
        io.restart();
        for (int i = 0; i < step; ++i) io.poll_one();
        cancel();
        run();
        EXPECT_EQ(phone_calls, 0) << step;
        ASSERT_FALSE(terminates.empty()) << step;
        EXPECT_EQ(terminates[0].reason->condition, "cancel");
        EXPECT_TRUE(device_links.empty() || device_links.back().session->ended()) << step;
        device_links.clear();
        expect_all_gone();
    }
}

// XEP-0260 puts every candidate into session-initiate / session-accept: a
// transport still gathering (S5B waiting for a port mapping) holds them back.
TEST_F(OobTest, TheDeviceAcceptsOnlyOnceItsTransportIsPrepared) {
    auto r = request(true);
    r.transport = [this](const TransportContext& ctx) {  // the phone's: ready at once
        fakes.push_back(std::make_shared<FailingTransport>(ctx));
        return fakes.back();
    };
    defer_prepare = true;  // the device's waits
    open(std::move(r));
    ASSERT_EQ(fakes.size(), 2u);  // the phone's (not deferred), the device's
    EXPECT_FALSE(fakes[0]->defers);
    ASSERT_TRUE(fakes[1]->ready);
    EXPECT_NE(std::find(sets.begin(), sets.end(), "session-initiate"), sets.end());
    EXPECT_EQ(std::find(sets.begin(), sets.end(), "session-accept"), sets.end());
    EXPECT_FALSE(phone_link);
    std::exchange(fakes[1]->ready, {})();
    run();
    EXPECT_NE(std::find(sets.begin(), sets.end(), "session-accept"), sets.end());
    // Then as without the wait: the fake fails, IBB takes over.
    ASSERT_TRUE(phone_link) << phone_error->describe();
    expect_bytes_both_ways(256 * 1024, 256 * 1024);
}

TEST_F(OobTest, ThePhoneInitiatesOnlyOnceItsTransportIsPreparedAndMayGiveUpMeanwhile) {
    defer_prepare = true;
    auto cancel = open_oob(phone, request(true), [this](Result<OobLink>) { ++phone_calls; });
    run();
    ASSERT_EQ(fakes.size(), 1u);
    ASSERT_TRUE(fakes[0]->ready);
    EXPECT_TRUE(sets.empty());  // nothing on the wire yet
    cancel();
    run();
    EXPECT_TRUE(fakes[0]->cancelled);
    std::exchange(fakes[0]->ready, {})();  // a transport that calls anyway: still nothing
    run();
    EXPECT_TRUE(sets.empty());
    EXPECT_EQ(phone_calls, 0);
    expect_all_gone();

    // Prepared: the offer goes out and the session comes up (through IBB).
    defer_prepare = true;
    open_oob(phone, request(true), [this](Result<OobLink> l) {
        ++phone_calls;
        if (l) phone_link = *l;
    });
    run();
    ASSERT_EQ(fakes.size(), 2u);
    defer_prepare = false;
    std::exchange(fakes[1]->ready, {})();
    run();
    EXPECT_NE(std::find(sets.begin(), sets.end(), "session-initiate"), sets.end());
    EXPECT_TRUE(phone_link);
}

TEST_F(OobTest, NoResponderMeansUnsupportedApplications) {
    responder.reset();
    open(request());
    ASSERT_TRUE(phone_error);
    ASSERT_FALSE(terminates.empty());
    EXPECT_EQ(terminates[0].reason->condition, "unsupported-applications");
    expect_all_gone();
}

}  // namespace

// A controller that exits while its primary transport is still connecting
// (a command's timeout): tearing its endpoint down frees the session, the
// transport and what the transport holds — nothing keeps the other alive.
TEST_F(OobTest, AnEndpointGoneMidConnectLeavesNoTransportAlive) {
    const char* kOther = "home@xpmn.test/phone2";
    client::StanzaRouter& rother = server.connect(kOther);
    auto other = std::make_unique<JingleManager>(io, rother, Jid::must_parse(kOther));
    std::weak_ptr<FailingTransport> theirs;
    OpenOob r = request();
    r.transport = [&theirs](const TransportContext& ctx) {
        auto t = std::make_shared<FailingTransport>(ctx);
        t->holds = true;
        theirs = t;
        return t;
    };
    device_trusts.insert(phone_cert.sha256);
    bool called = false;
    open_oob(*other, std::move(r), [&called](Result<OobLink>) { called = true; });
    run();
    ASSERT_FALSE(theirs.expired());
    ASSERT_TRUE(theirs.lock()->held) << "the transport is connecting";
    other.reset();
    run();
    EXPECT_TRUE(theirs.expired());
    EXPECT_FALSE(called);
}
