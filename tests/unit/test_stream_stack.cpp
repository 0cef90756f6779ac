// The lower stack without a server: XML streams over TLS over the in-memory
// pair, client and server end, with the parser's limits, byte-by-byte
// delivery, and a gigabyte through TLS in bounded memory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (GCC ships no header declaring it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

#include "tests/unit/tls_test_pair.hpp"

using namespace xpmn;
using test_tls::message;
using test_tls::pattern;
using test_tls::TlsPair;
using test_tls::XmlEnd;

namespace {

// What the process holds: RSS; under AddressSanitizer, whose quarantine keeps
// freed memory resident, the bytes allocated and not yet freed.
std::size_t memory_in_use() {
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
#endif
}

}  // namespace

TEST(StreamStack, StanzasBothWaysThroughTls) {
    TlsPair p;
    XmlEnd client, server;
    p.open_xml(client, server);
    ASSERT_EQ(p.client.handshake_error, "");
    for (int i = 0; i < 50; ++i) {
        client.xml->send(message("to server " + std::to_string(i)));
        server.xml->send(message("to client " + std::to_string(i) + " " + pattern(i * 100)));
    }
    p.run();
    ASSERT_EQ(server.got.size(), 50u);
    ASSERT_EQ(client.got.size(), 50u);
    EXPECT_EQ(server.got[49].child_text("body", ns::client), "to server 49");
    EXPECT_EQ(client.got[7].child_text("body", ns::client), "to client 7 " + pattern(700));

    client.xml->close();
    p.run();
    ASSERT_EQ(server.closed.size(), 1u);
    EXPECT_EQ(server.closed[0], "");
}

// An end-to-end stream through an S5B proxy (Prosody's proxy65 keeps the
// tail of a burst): each answer, however small, reaches the peer at once,
// and so does a big one's end — XmlStream pushes what it wrote through.
TEST(StreamStack, WhatAStreamWritesLastPassesARelayThatHoldsTheTail) {
    TlsPair p;
    p.run();
    ASSERT_EQ(p.server.tls->protocol_version(), "TLSv1.3");
    p.server_tap->hold_tail = 8191;
    XmlEnd client, server;
    p.open_xml(client, server);
    server.xml->send(message("small"));
    p.run();
    ASSERT_EQ(client.got.size(), 1u);
    EXPECT_EQ(client.got[0].child_text("body", ns::client), "small");
    server.xml->send(message(pattern(100 * 1024)));
    server.xml->send(message("after the big one"));
    p.run();
    ASSERT_EQ(client.got.size(), 3u);
    EXPECT_EQ(client.got[1].child_text("body", ns::client), pattern(100 * 1024));
    EXPECT_EQ(client.got[2].child_text("body", ns::client), "after the big one");
    client.xml->send(message("answer"));  // the other way is untouched
    p.run();
    ASSERT_EQ(server.got.size(), 1u);
    EXPECT_TRUE(client.closed.empty());
}

TEST(StreamStack, TheParsersLimitsHoldInsideTls) {
    TlsPair p;
    XmlEnd client, server;
    p.open_xml(client, server, xml::StreamLimits{.max_stanza_bytes = 4096, .max_depth = 8});
    client.xml->send(message(pattern(8192)));
    p.run();
    EXPECT_TRUE(server.got.empty());
    ASSERT_EQ(server.closed.size(), 1u);
    EXPECT_NE(server.closed[0].find("policy-violation"), std::string::npos) << server.closed[0];
    // The client is told why, inside TLS, and its stream ends.
    ASSERT_EQ(client.got.size(), 1u);
    EXPECT_EQ(client.got[0].name(), "error");
    EXPECT_NE(client.got[0].child("policy-violation", ns::streams_err), nullptr);
    EXPECT_EQ(client.closed.size(), 1u);
}

// Every ciphertext byte arrives on its own (one byte in flight), and every
// plaintext byte travels in its own TLS record: the stanzas still parse.
TEST(StreamStack, EveryByteSplitAtEveryBoundaryStillParses) {
    TlsPair p({.max_in_flight = 1});
    p.run();
    ASSERT_EQ(p.client.handshake_error, "");
    XmlEnd server;
    server.attach(p.server.tls);
    std::string session =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "version='1.0'><message to='a@b.example/r' type='chat' xml:lang='de'><body>Die \xc3\x84rzte &amp; "
        "&lt;co&gt;</body></message><iq type='get' id='1'><query xmlns='urn:xmpp:ping'/></iq>"
        "<presence><status><![CDATA[x<y]]></status></presence>";
    std::size_t next = 0;
    auto& tls = *p.client.tls;
    p.client.drained = 0;
    tls.set_handlers({nullptr, nullptr, [&] {
                          if (next < session.size()) tls.write(session.substr(next++, 1));
                      }});
    tls.write(session.substr(next++, 1));
    p.run();
    EXPECT_EQ(next, session.size());
    EXPECT_GE(p.client_tap->records(), session.size());
    ASSERT_EQ(server.got.size(), 3u);
    EXPECT_EQ(server.got[0].child_text("body", ns::client), "Die \xc3\x84rzte & <co>");
    EXPECT_EQ(server.got[1].attr_or("id"), "1");
    EXPECT_EQ(server.got[2].child_text("status", ns::client), "x<y");
    EXPECT_TRUE(server.closed.empty());
}

// A producer that writes only when the stream has drained (as the media
// relay will) moves a gigabyte through TLS without the process growing
// (RSS growth under 4 MB after a warm-up).
TEST(StreamStack, AGigabyteThroughTlsInBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer makes every copy several times slower; a quarter of
    // the volume still shows whether anything accumulates.
    const std::size_t total = std::size_t{256} << 20;
#else
    const std::size_t total = std::size_t{1} << 30;
#endif
    const std::size_t piece = 64 * 1024, burst = 4;
    TlsPair p;
    p.client_tap->recording = p.server_tap->recording = false;
    p.run();
    ASSERT_EQ(p.client.handshake_error, "");
    std::size_t sent = 0, received = 0, bad = 0;
    std::size_t in_use_after_warmup = 0;
    const std::string block = pattern(piece);
    auto& client = *p.client.tls;
    auto produce = [&] {
        for (std::size_t i = 0; i < burst && sent < total; ++i) {
            client.write(block);
            sent += piece;
        }
        if (in_use_after_warmup == 0 && sent >= (std::size_t{32} << 20)) in_use_after_warmup = memory_in_use();
    };
    client.set_handlers({nullptr, nullptr, produce});
    p.server.tls->set_handlers({[&](std::string_view d) {
                                    // Spot-check the content where it is cheap.
                                    if (d[0] != block[received % piece]) ++bad;
                                    received += d.size();
                                },
                                nullptr, nullptr});
    produce();
    p.run();
    EXPECT_EQ(received, total);
    EXPECT_EQ(bad, 0u);
    ASSERT_NE(in_use_after_warmup, 0u);
    std::size_t growth = memory_in_use() > in_use_after_warmup ? memory_in_use() - in_use_after_warmup : 0;
    EXPECT_LT(growth, std::size_t{4} << 20) << "memory in use grew by " << growth << " bytes";
}
