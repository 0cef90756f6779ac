// xtls::secure_stream over the in-memory pair: x509 in the Jingle roles with
// the announced fingerprint and the trust check on both sides, bytes both
// ways under back-pressure, and the failures — impostor, untrusted, the
// responder refusing after TLS 1.3 let the initiator finish, a wrong method,
// a silent peer, a cancelled attempt.
#include <gtest/gtest.h>

#include "tests/unit/oob_test_stream.hpp"
#include "tests/unit/xtls_test_pair.hpp"
#include "xmpp/xtls/secure_stream.hpp"

using namespace xpmn;
using test_tls::SelfSigned;

namespace {

struct Secured {
    int calls = 0;
    std::shared_ptr<xtls::SecuredStream> stream;
    Error error;
    xtls::SecureStreamHandler handler() {
        return [this](Result<std::shared_ptr<xtls::SecuredStream>> r) {
            ++calls;
            if (r) stream = *r;
            else error = r.error();
        };
    }
};

struct SecureStream : test_xtls::XtlsPair {
    Secured phone_side, bridge_side;

    xtls::CancelEstablish start_phone(xtls::HandshakeParams p) {
        return xtls::secure_stream(io, phone_wire, std::move(p), phone_side.handler());
    }
    void start_bridge(xtls::HandshakeParams p) { xtls::secure_stream(io, bridge_wire, std::move(p), bridge_side.handler()); }
    void secure(xtls::HandshakeParams i, xtls::HandshakeParams r) {
        start_phone(std::move(i));
        start_bridge(std::move(r));
        run();
        EXPECT_EQ(phone_side.calls, 1);
        EXPECT_EQ(bridge_side.calls, 1);
    }
};

TEST_F(SecureStream, TrustedBothWaysCarriesLargePayloadsBothWaysUnderBackPressure) {
    secure(phone_x509(), bridge_x509(bridge));
    ASSERT_TRUE(phone_side.stream) << phone_side.error.describe();
    ASSERT_TRUE(bridge_side.stream) << bridge_side.error.describe();
    EXPECT_EQ(phone_side.stream->peer_fingerprint(), bridge.sha256);
    EXPECT_EQ(bridge_side.stream->peer_fingerprint(), phone.sha256);

    test_oob::Endpoint p, b;
    p.pause_every = b.pause_every = 100 * 1024;
    p.attach(phone_side.stream);
    b.attach(bridge_side.stream);
    const std::string up = test_oob::pattern(3 * 1024 * 1024 + 17, 1), down = test_oob::pattern(2 * 1024 * 1024 + 5, 2);
    p.send(up);
    b.send(down);
    run();
    EXPECT_EQ(b.received.size(), up.size());
    EXPECT_TRUE(b.received == up);
    EXPECT_EQ(p.received.size(), down.size());
    EXPECT_TRUE(p.received == down);
    EXPECT_GT(p.pauses, 0);
    EXPECT_GT(b.pauses, 0);

    // A close ends the other side cleanly, after all the data.
    p.stream->close();
    run();
    ASSERT_TRUE(b.closed);
    EXPECT_EQ(*b.closed, "");
}

TEST_F(SecureStream, AnImpostorResponderIsRefused) {
    SelfSigned impostor = test_tls::make_self_signed("bridge");
    secure(phone_x509(), bridge_x509(impostor));
    EXPECT_FALSE(phone_side.stream);
    EXPECT_EQ(phone_side.error.condition, "security-error");
    EXPECT_NE(phone_side.error.text.find("announced in Jingle"), std::string::npos) << phone_side.error.text;
    EXPECT_FALSE(bridge_side.stream);
    EXPECT_EQ(bridge_side.error.condition, "security-error");
}

TEST_F(SecureStream, AnAnnouncedButUntrustedResponderIsRefused) {
    phone_trusts.clear();
    secure(phone_x509(), bridge_x509(bridge));
    EXPECT_FALSE(phone_side.stream);
    EXPECT_EQ(phone_side.error.condition, "security-error");
    EXPECT_NE(phone_side.error.text.find("is not in the trust store"), std::string::npos) << phone_side.error.text;
    EXPECT_FALSE(bridge_side.stream);
}

// TLS 1.3: the client is done before the server judged its certificate. The
// initiator may get a stream, but its first read is an error (the alert),
// never data or a clean end, and nothing it wrote reaches the responder.
TEST_F(SecureStream, AResponderRefusingTheInitiatorSurfacesAsAnErrorOnTheInitiatorsFirstRead) {
    bridge_trusts.clear();
    secure(phone_x509(), bridge_x509(bridge));
    EXPECT_FALSE(bridge_side.stream);
    EXPECT_EQ(bridge_side.error.condition, "security-error");
    EXPECT_NE(bridge_side.error.text.find("is not in the trust store"), std::string::npos) << bridge_side.error.text;
    ASSERT_TRUE(phone_side.stream) << "TLS 1.3 lets the client finish first";
    test_oob::Endpoint p;
    p.attach(phone_side.stream);
    p.send("secret");
    run();
    ASSERT_TRUE(p.closed);
    EXPECT_NE(*p.closed, "");
    EXPECT_TRUE(p.received.empty());
}

TEST_F(SecureStream, OnlyX509WithACertificateAndATrustCheck) {
    auto srp = phone_x509();
    srp.method = xtls::Method::Srp;
    start_phone(std::move(srp));
    run();
    EXPECT_EQ(phone_side.calls, 1);
    EXPECT_EQ(phone_side.error.condition, "security-error");
    EXPECT_NE(phone_side.error.text.find("only x509"), std::string::npos) << phone_side.error.text;

    for (int missing = 0; missing < 2; ++missing) {
        Secured s;
        auto [a, b] = net::make_memory_pair(io);
        auto p = bridge_x509(bridge);
        if (missing == 0) p.trusted = nullptr;
        else p.identity = {};
        xtls::secure_stream(io, a, std::move(p), s.handler());
        run();
        EXPECT_EQ(s.calls, 1);
        EXPECT_EQ(s.error.condition, "security-error") << missing;
    }
}

TEST_F(SecureStream, ASilentPeerTimesOut) {
    bridge_wire->set_handlers({[](std::string_view) {}, nullptr, nullptr});
    bridge_wire->start();
    auto p = phone_x509();
    p.timeout = std::chrono::milliseconds(20);
    start_phone(std::move(p));
    io.run();  // until the timer
    EXPECT_EQ(phone_side.calls, 1);
    EXPECT_EQ(phone_side.error.condition, "remote-server-timeout");
}

TEST_F(SecureStream, ACancelledAttemptEndsQuietlyAndThePeerFails) {
    start_bridge(bridge_x509(bridge));
    auto cancel = start_phone(phone_x509());
    io.restart();
    io.poll_one();  // the responder's start
    io.poll_one();  // the initiator's: its client hello is on the way
    cancel();
    run();
    EXPECT_EQ(phone_side.calls, 0);
    EXPECT_EQ(bridge_side.calls, 1);
    EXPECT_EQ(bridge_side.error.condition, "security-error");
}

}  // namespace
