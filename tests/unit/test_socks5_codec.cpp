// The SOCKS5 codec: the exact bytes S5B puts on the wire, and how the
// parsers treat partial input, trailing bytes, junk and out-of-range sizes.
#include <gtest/gtest.h>

#include "xmpp/jingle/socks5_codec.hpp"

using namespace xpmn::jingle::socks5;
using namespace std::string_literals;

namespace {

const std::string kHash = dst_addr("vj3hs98y", "romeo@montague.lit/orchard", "juliet@capulet.lit/balcony");

// Feeds every proper prefix of `bytes` to `parse` and expects NeedMore,
// wanting more than it has and never more than the whole message (a reader
// that asks for `wanted` bytes never reads into what follows).
template <class F>
void expect_need_more_for_prefixes(const std::string& bytes, F parse) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        auto p = parse(std::string_view(bytes).substr(0, n));
        EXPECT_TRUE(p.need_more()) << "prefix of " << n << " bytes";
        EXPECT_GT(p.wanted, n) << "prefix of " << n << " bytes";
        EXPECT_LE(p.wanted, bytes.size()) << "prefix of " << n << " bytes";
    }
}

}  // namespace

TEST(Socks5DstAddr, IsLowercaseHexSha1OfSidRequesterTarget) {
    // Reference values computed independently (Python hashlib.sha1).
    EXPECT_EQ(dst_addr("vxf9n471bn46", "requester@example.com/foo", "target@example.org/bar"),
              "98b8d688d0f5d895fd41c5e7309a2e9e33ba32ff");
    EXPECT_EQ(kHash, "972b7bf47291ca609517f67f86b5081086052dad");
    // The order matters: each side computes the hash of the candidate's owner first.
    EXPECT_NE(dst_addr("vj3hs98y", "juliet@capulet.lit/balcony", "romeo@montague.lit/orchard"), kHash);
}

TEST(Socks5Greeting, ClientOffersNoAuthenticationOnly) { EXPECT_EQ(encode_greeting(), "\x05\x01\x00"s); }

TEST(Socks5Greeting, ParsesAndLeavesTheNextMessage) {
    const std::string bytes = "\x05\x02\x02\x00"s + "\x05\x01"s;
    auto p = parse_greeting(bytes);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.consumed, 4u);
    EXPECT_EQ(p.value.methods, (std::vector<std::uint8_t>{0x02, 0x00}));
    EXPECT_TRUE(p.value.offers(kMethodNoAuth));
    EXPECT_FALSE(p.value.offers(0x02 + 1));
}

TEST(Socks5Greeting, NeedsMoreUntilAllMethodsArrived) {
    expect_need_more_for_prefixes("\x05\x03\x00\x01\x02"s, parse_greeting);
    EXPECT_TRUE(parse_greeting("\x05\x03\x00\x01\x02"s).done());
}

TEST(Socks5Greeting, RejectsAnotherVersionAndNoMethods) {
    auto socks4 = parse_greeting("\x04\x01\x00\x50"s);
    ASSERT_TRUE(socks4.invalid());
    EXPECT_NE(socks4.error.find("version 04"), std::string::npos) << socks4.error;
    EXPECT_TRUE(parse_greeting("GET / HTTP/1.1\r\n").invalid());
    EXPECT_TRUE(parse_greeting("\x05\x00"s).invalid());
}

TEST(Socks5MethodChoice, RoundTrips) {
    EXPECT_EQ(encode_method_choice(kMethodNoAuth), "\x05\x00"s);
    expect_need_more_for_prefixes("\x05\xff"s, parse_method_choice);
    auto p = parse_method_choice("\x05\xff"s);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.value, kMethodNoneAcceptable);
    EXPECT_EQ(p.consumed, 2u);
    EXPECT_TRUE(parse_method_choice("\x01\x00"s).invalid());
}

TEST(Socks5Connect, IsDomainNameHashWithPortZero) {
    auto bytes = encode_connect(kHash);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, "\x05\x01\x00\x03\x28"s + kHash + "\x00\x00"s);
}

TEST(Socks5Connect, DomainNameLengthLimits) {
    EXPECT_FALSE(encode_connect("").ok());
    EXPECT_TRUE(encode_connect(std::string(255, 'a')).ok());
    auto too_long = encode_connect(std::string(256, 'a'));
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error().condition, "bad-request");
}

TEST(Socks5Request, ParsesTheConnectAnInitiatorSends) {
    const std::string bytes = *encode_connect(kHash, 0x1234);
    expect_need_more_for_prefixes(bytes, parse_request);
    auto p = parse_request(bytes + "data");
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.consumed, bytes.size());
    EXPECT_EQ(p.value.command, kCmdConnect);
    EXPECT_EQ(p.value.address.type, kAtypDomain);
    EXPECT_EQ(p.value.address.value, kHash);
    EXPECT_EQ(p.value.port, 0x1234);
}

TEST(Socks5Request, KeepsOtherCommandsForTheServerToRefuse) {
    auto p = parse_request("\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"s);  // BIND 127.0.0.1:80
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.value.command, 0x02);
    EXPECT_EQ(p.value.address.value, "\x7f\x00\x00\x01"s);
    EXPECT_EQ(p.value.port, 80);
}

TEST(Socks5Request, RejectsJunk) {
    EXPECT_TRUE(parse_request("\x04\x01\x00\x03"s).invalid());           // version
    EXPECT_TRUE(parse_request("\x05\x01\x01\x03\x01x\x00\x00"s).invalid());  // reserved octet
    EXPECT_TRUE(parse_request("\x05\x01\x00\x03\x00\x00\x00"s).invalid());   // empty domain
    auto atyp = parse_request("\x05\x01\x00\x09\x01"s);
    ASSERT_TRUE(atyp.invalid());
    EXPECT_NE(atyp.error.find("address type 09"), std::string::npos) << atyp.error;
}

TEST(Socks5Request, LongestDomainNeedsAllItsBytes) {
    const std::string bytes = *encode_connect(std::string(255, 'z'));
    EXPECT_EQ(bytes.size(), 4u + 1u + 255u + 2u);
    expect_need_more_for_prefixes(bytes, parse_request);
    EXPECT_EQ(parse_request(std::string_view(bytes).substr(0, 5)).wanted, bytes.size());
    EXPECT_TRUE(parse_request(bytes).done());
}

TEST(Socks5Reply, RoundTripsDomainAndIpAddresses) {
    auto domain = encode_reply(Rep::Succeeded, Address{kAtypDomain, kHash}, 0);
    ASSERT_TRUE(domain.ok());
    expect_need_more_for_prefixes(*domain, parse_reply);
    auto p = parse_reply(*domain);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.value.rep, Rep::Succeeded);
    EXPECT_EQ(p.value.bound.value, kHash);

    const std::string v6(16, '\x01');
    auto ip6 = encode_reply(Rep::HostUnreachable, Address{kAtypIpv6, v6}, 443);
    ASSERT_TRUE(ip6.ok());
    EXPECT_EQ(ip6->size(), 4u + 16u + 2u);
    auto q = parse_reply(*ip6);
    ASSERT_TRUE(q.done());
    EXPECT_EQ(q.value.rep, Rep::HostUnreachable);
    EXPECT_EQ(q.value.bound.type, kAtypIpv6);
    EXPECT_EQ(q.value.bound.value, v6);
    EXPECT_EQ(q.value.port, 443);

    EXPECT_FALSE(encode_reply(Rep::Succeeded, Address{kAtypIpv4, "\x01\x02"s}, 0).ok());
    EXPECT_FALSE(encode_reply(Rep::Succeeded, Address{0x07, "x"}, 0).ok());
}

TEST(Socks5Reply, DescribesReplyCodes) {
    EXPECT_EQ(describe(Rep::ConnectionRefused), "connection refused");
    EXPECT_EQ(describe(static_cast<Rep>(0x2a)), "reply code 0x2a");
}
