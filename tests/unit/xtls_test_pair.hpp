// Test fixture: a phone (initiator) and a device (responder) establishing an
// end-to-end stream over the in-memory pair, each with its own certificate
// and trust store, recording what establish() hands back.
#pragma once

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/tls_test_pair.hpp"
#include "xmpp/xtls/e2e_channel.hpp"
#include "xmpp/xtls/xtls.hpp"

namespace xpmn::test_xtls {

using test_tls::SelfSigned;

struct Outcome {
    int calls = 0;
    std::shared_ptr<xtls::E2eChannel> channel;
    Error error;
    xtls::ChannelHandler handler() {
        return [this](Result<std::shared_ptr<xtls::E2eChannel>> r) {
            ++calls;
            if (r) channel = *r;
            else error = r.error();
        };
    }
};

inline tls::Identity identity(const SelfSigned& s) { return {s.cert, s.key}; }

// An initiator written by hand (TLS client + XML stream), to send what
// establish() never would and to see exactly what a responder writes.
struct RawInitiator {
    std::shared_ptr<tls::TlsStream> tls;
    std::shared_ptr<stream::XmlStream> xml;
    std::optional<xml::Element> header;
    std::vector<xml::Element> got;
    std::vector<std::string> closed;

    void start(net::ByteStreamPtr wire, const SelfSigned& ours, const SelfSigned& theirs) {
        tls::ClientOptions o;
        o.pinned_sha256 = theirs.sha256;
        o.identity = identity(ours);
        tls::PeerCheck check;
        check.verify = tls::verify_fingerprint(theirs.sha256);
        tls = std::make_shared<tls::TlsStream>(std::move(wire), tls::make_client_context(o),
                                               tls::TlsStream::Role::Client, check);
        tls->handshake([this](Result<void> secured) {
            ASSERT_TRUE(secured) << secured.error().text;
            xml = std::make_shared<stream::XmlStream>(tls);
            xml->set_handlers({[this](const xml::Element& h) { header = h; },
                               [this](xml::Element e) { got.push_back(std::move(e)); },
                               [this](const std::string& r) { closed.push_back(r); }});
            xml->start();
            xml->open({{"from", "home@example.org"}, {"to", "home@example.org"}, {"version", "1.0"}});
        });
    }
};

struct XtlsPair : ::testing::Test {
    boost::asio::io_context io;
    SelfSigned phone = test_tls::make_self_signed("phone");
    SelfSigned bridge = test_tls::make_self_signed("bridge");
    Jid phone_jid = Jid::must_parse("home@example.org/phone");
    Jid device_jid = Jid::must_parse("home@example.org/upnp-3fa2c1d0");
    std::set<std::string> phone_trusts{bridge.sha256}, bridge_trusts{phone.sha256};
    std::vector<std::string> phone_asked, bridge_asked;  // fingerprints the trust stores were asked about
    Outcome initiator, responder;
    std::shared_ptr<net::MemoryStream> phone_wire, bridge_wire;

    void SetUp() override { std::tie(phone_wire, bridge_wire) = net::make_memory_pair(io); }

    // Runs what is ready (not timers: a pending IQ's timeout would wait).
    void run() {
        io.restart();
        while (io.poll() > 0) {
        }
    }

    xtls::HandshakeParams x509(xtls::Role role, const SelfSigned& ours, const std::string& announced,
                               std::set<std::string>& trusts, std::vector<std::string>& asked) {
        xtls::HandshakeParams p;
        p.role = role;
        p.method = xtls::Method::X509;
        p.identity = identity(ours);
        p.peer_fingerprint = announced;
        p.trusted = [&trusts, &asked](const std::string& fp) {
            asked.push_back(fp);
            return trusts.count(fp) > 0;
        };
        return p;
    }
    xtls::HandshakeParams phone_x509() {
        return x509(xtls::Role::Initiator, phone, bridge.sha256, phone_trusts, phone_asked);
    }
    xtls::HandshakeParams bridge_x509(const SelfSigned& presented) {
        return x509(xtls::Role::Responder, presented, phone.sha256, bridge_trusts, bridge_asked);
    }

    xtls::CancelEstablish start_initiator(xtls::HandshakeParams p) {
        return xtls::establish(io, phone_wire, std::move(p), {phone_jid, device_jid}, initiator.handler());
    }
    void start_responder(xtls::HandshakeParams p) {
        xtls::establish(io, bridge_wire, std::move(p), {device_jid, phone_jid}, responder.handler());
    }
    void connect(xtls::HandshakeParams i, xtls::HandshakeParams r) {
        start_initiator(std::move(i));
        start_responder(std::move(r));
        run();
        EXPECT_EQ(initiator.calls, 1);
        EXPECT_EQ(responder.calls, 1);
    }
    // The device's channel open to a hand-written initiator.
    void open_to(RawInitiator& raw) {
        raw.start(phone_wire, phone, bridge);
        start_responder(bridge_x509(bridge));
        run();
        ASSERT_TRUE(responder.channel) << responder.error.describe();
        ASSERT_TRUE(raw.header);
    }
    // Both channels open over x509.
    void open() {
        connect(phone_x509(), bridge_x509(bridge));
        ASSERT_TRUE(initiator.channel) << initiator.error.describe();
        ASSERT_TRUE(responder.channel) << responder.error.describe();
    }
};

}  // namespace xpmn::test_xtls
