// An in-band bytestream that ends with an error before its owner listens:
// the peer opens it and sends bad data in the same burst, before the layer
// above (TLS in xtls::establish) has set its handlers and started it. The
// end must still reach that owner once it starts (net::ByteStream: on_closed
// is called once when the stream ends), else a TLS handshake over it waits
// for bytes that never come, until its timeout.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>

#include "jingle_test_server.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/ibb_registry.hpp"
#include "xmpp/net/memory_pair.hpp"
#include "xmpp/xtls/device_identity.hpp"
#include "xmpp/xtls/e2e_channel.hpp"

using namespace xpmn;
using namespace xpmn::jingle;

namespace {

constexpr const char* kPeer = "home@example.org/phone";
constexpr const char* kUs = "home@example.org/upnp-1";

struct IbbEarlyEnd : ::testing::Test {
    boost::asio::io_context io;
    jingletest::MemoryServer server{io};
    client::StanzaRouter& peer = server.connect(kPeer);
    client::StanzaRouter& us = server.connect(kUs);
    IbbRegistry registry{io, us};
    IbbStreamPtr stream = *registry.create(Jid::must_parse(kPeer), "s1", {});

    void run() {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    void peer_sends(const char* name, std::initializer_list<std::pair<const char*, std::string>> attrs,
                    std::string text = {}) {
        xml::Element e(name, kIbbNs);
        for (const auto& [k, v] : attrs) e.set_attr(k, v);
        if (!text.empty()) e.add_text(text);
        auto iq = stanza::iq("set", kUs);
        iq.add_child(std::move(e));
        peer.send_iq(std::move(iq), std::chrono::seconds(60), [](const client::IqResponse&) {});
    }
    // The peer's <open/> and a <data/> that is not base64, before we listen.
    void open_then_bad_data() {
        peer_sends("open", {{"block-size", "4096"}, {"sid", "s1"}, {"stanza", "iq"}});
        peer_sends("data", {{"seq", "0"}, {"sid", "s1"}}, "!!!notbase64");
        run();
    }
};

TEST_F(IbbEarlyEnd, AnErrorBeforeStartReachesTheOwnerOnStart) {
    open_then_bad_data();
    std::optional<std::string> closed;
    stream->set_handlers({.on_data = [](std::string_view) {},
                          .on_closed = [&](const std::string& r) { closed = r; },
                          .on_drained = [] {}});
    stream->start();
    run();
    ASSERT_TRUE(closed) << "the stream ended before start() and never said so";
    EXPECT_FALSE(closed->empty());
}

TEST_F(IbbEarlyEnd, AnOwnerThatAbortsFirstHearsNothing) {
    open_then_bad_data();
    bool called = false;
    stream->set_handlers({.on_data = [](std::string_view) {},
                          .on_closed = [&](const std::string&) { called = true; },
                          .on_drained = [] {}});
    stream->start();
    stream->abort();
    run();
    EXPECT_FALSE(called);
}

TEST_F(IbbEarlyEnd, ATlsHandshakeOverItFailsAtOnce) {
    open_then_bad_data();
    xtls::HandshakeParams params;
    params.role = xtls::Role::Responder;
    params.identity = xtls::make_device_identity(Jid::must_parse("home@example.org"));
    params.peer_fingerprint = std::string(64, 'a');
    params.trusted = [](const std::string&) { return true; };
    std::optional<Result<std::shared_ptr<xtls::E2eChannel>>> outcome;
    xtls::establish(io, stream, params, {Jid::must_parse(kUs), Jid::must_parse(kPeer)},
                    [&](Result<std::shared_ptr<xtls::E2eChannel>> r) { outcome = std::move(r); });
    stream.reset();
    run();  // no timer runs here: only an immediate failure can end it
    ASSERT_TRUE(outcome) << "establish() still waits on a stream that has ended";
    ASSERT_FALSE(*outcome);
    EXPECT_EQ(outcome->error().condition, "security-error");
}

}  // namespace
