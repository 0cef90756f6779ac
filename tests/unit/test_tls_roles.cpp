// TLS roles over the in-memory pair: a server that requires a client
// certificate, both sides judging the other by fingerprint (XTLS x509), a
// trust store as a verifier, and SRP with the right and a wrong password
// (XTLS pairing). One client context serves several connections.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/tls_test_pair.hpp"
#include "xmpp/tls/tls_context.hpp"

using namespace xpmn;
using test_tls::SelfSigned;
using test_tls::Side;

namespace {

tls::Identity identity(const SelfSigned& s) { return {s.cert, s.key}; }

struct Roles : ::testing::Test {
    boost::asio::io_context io;
    SelfSigned server_id = test_tls::make_self_signed("bridge");
    SelfSigned client_id = test_tls::make_self_signed("phone");
    Side client, server;

    tls::SslCtxPtr server_ctx(bool require_client_cert = true) {
        return tls::make_server_context({identity(server_id), require_client_cert});
    }
    tls::SslCtxPtr client_ctx(const SelfSigned* presented) {
        tls::ClientOptions o;
        o.pinned_sha256 = server_id.sha256;  // no CA loading; the verifier decides
        if (presented) o.identity = identity(*presented);
        return tls::make_client_context(o);
    }
    void connect(tls::SslCtxPtr cctx, tls::PeerCheck ccheck, tls::SslCtxPtr sctx, tls::PeerCheck scheck) {
        auto [cw, sw] = net::make_memory_pair(io);
        client.tls = std::make_shared<tls::TlsStream>(cw, std::move(cctx), tls::TlsStream::Role::Client, ccheck);
        server.tls = std::make_shared<tls::TlsStream>(sw, std::move(sctx), tls::TlsStream::Role::Server, scheck);
        client.begin();
        server.begin();
        io.restart();
        io.run();
    }
    // Plaintext gets through both ways.
    void exchange() {
        client.tls->write("hello from the client");
        server.tls->write("hello from the server");
        io.restart();
        io.run();
        EXPECT_EQ(server.data, "hello from the client");
        EXPECT_EQ(client.data, "hello from the server");
    }
};

// With TLS 1.3 the client is done before the server has judged its
// certificate: the server's refusal then reaches it as the end of the stream.
bool refused(const Side& s) { return !s.handshake_error.empty() || !s.closed.empty(); }

tls::PeerCheck expect(const SelfSigned& peer) {
    tls::PeerCheck c;
    c.verify = tls::verify_fingerprint(peer.sha256, "announced");
    return c;
}

TEST_F(Roles, MutualX509WithMatchingFingerprints) {
    connect(client_ctx(&client_id), expect(server_id), server_ctx(), expect(client_id));
    ASSERT_EQ(client.handshake_error, "");
    ASSERT_EQ(server.handshake_error, "");
    EXPECT_EQ(client.tls->peer_certificate_sha256(), server_id.sha256);
    EXPECT_EQ(server.tls->peer_certificate_sha256(), client_id.sha256);
    EXPECT_EQ(client.tls->protocol_version(), "TLSv1.3");  // SRP's lower settings stay on SRP connections
    exchange();
}

TEST_F(Roles, ServerRefusesAClientCertificateOtherThanAnnounced) {
    SelfSigned stranger = test_tls::make_self_signed("stranger");
    connect(client_ctx(&stranger), expect(server_id), server_ctx(), expect(client_id));
    EXPECT_NE(server.handshake_error.find("does not match the announced " + client_id.sha256), std::string::npos)
        << server.handshake_error;
    EXPECT_TRUE(refused(client));  // told by an alert
    client.tls->write("must not arrive");
    io.restart();
    io.run();
    EXPECT_EQ(server.data, "");
}

TEST_F(Roles, ClientRefusesAServerCertificateOtherThanAnnounced) {
    SelfSigned stranger = test_tls::make_self_signed("stranger");
    connect(client_ctx(&client_id), expect(stranger), server_ctx(), expect(client_id));
    EXPECT_NE(client.handshake_error.find("does not match the announced " + stranger.sha256), std::string::npos)
        << client.handshake_error;
    EXPECT_NE(server.handshake_error, "");
}

TEST_F(Roles, ServerRequiresAClientCertificate) {
    connect(client_ctx(nullptr), expect(server_id), server_ctx(), expect(client_id));
    EXPECT_NE(server.handshake_error, "");
    EXPECT_TRUE(refused(client));
}

TEST_F(Roles, TrustStorePlugsInAsAVerifier) {
    std::set<std::string> store{client_id.sha256};
    tls::PeerCheck scheck;
    scheck.verify = tls::verify_trusted([&](const std::string& fp) { return store.count(fp) > 0; }, "trust store");
    connect(client_ctx(&client_id), expect(server_id), server_ctx(), scheck);
    EXPECT_EQ(server.handshake_error, "");
    EXPECT_EQ(client.handshake_error, "");

    store.clear();
    client = {};
    server = {};
    connect(client_ctx(&client_id), expect(server_id), server_ctx(), scheck);
    EXPECT_NE(server.handshake_error.find("not in the trust store"), std::string::npos) << server.handshake_error;
}

TEST_F(Roles, OneClientContextForManyConnections) {
    auto shared = client_ctx(&client_id);
    auto sctx = server_ctx();
    for (int i = 0; i < 3; ++i) {
        client = {};
        server = {};
        connect(shared, expect(server_id), sctx, expect(client_id));
        EXPECT_EQ(client.handshake_error, "") << i;
        EXPECT_EQ(server.handshake_error, "") << i;
    }
}

struct Srp : Roles {
    const std::string user = "home@example.org/phone";
    tls::SrpVerifier verifier = tls::make_srp_verifier(user, "493817");
    std::vector<std::string> looked_up;

    tls::PeerCheck server_check() {
        tls::PeerCheck c;
        c.srp_lookup = [this](const std::string& u) -> std::optional<tls::SrpVerifier> {
            looked_up.push_back(u);
            if (u != user) return std::nullopt;
            return verifier;
        };
        return c;
    }
    // The same server context as x509 connections: SRP is per connection.
    void pair_with(const std::string& name, const std::string& pin) {
        connect(tls::make_srp_client_context({name, pin}), {}, server_ctx(), server_check());
    }
};

TEST_F(Srp, RightPasswordConnects) {
    pair_with(user, "493817");
    ASSERT_EQ(client.handshake_error, "");
    ASSERT_EQ(server.handshake_error, "");
    EXPECT_EQ(looked_up, std::vector<std::string>{user});
    EXPECT_EQ(client.tls->protocol_version(), "TLSv1.2");
    EXPECT_EQ(client.tls->peer_certificate_sha256(), "");  // no certificates with SRP
    exchange();
}

TEST_F(Srp, WrongPasswordFailsOnBothSides) {
    pair_with(user, "000000");
    EXPECT_NE(client.handshake_error, "");
    EXPECT_NE(server.handshake_error, "");
    client.tls->write("must not arrive");
    io.restart();
    io.run();
    EXPECT_EQ(server.data, "");
}

TEST_F(Srp, UnknownUserIsRefused) {
    pair_with("someone@else.example/x", "493817");
    EXPECT_NE(server.handshake_error.find("unknown SRP user"), std::string::npos) << server.handshake_error;
    EXPECT_NE(client.handshake_error, "");
}

TEST_F(Srp, AnX509ClientCannotGetIntoAnSrpConnection) {
    connect(client_ctx(&client_id), expect(server_id), server_ctx(), server_check());
    EXPECT_NE(server.handshake_error, "");
    EXPECT_NE(client.handshake_error, "");
}

}  // namespace
