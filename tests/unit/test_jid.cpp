// Jid parsing and normalization: the RFC 7622 §3.5 examples, then case, IDN,
// literal and length rules. See jid.hpp for where Nodeprep differs from PRECIS.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <unordered_set>

#include "xmpp/core/jid.hpp"

using xpmn::Jid;

namespace {

struct Parts {
    std::string local, domain, resource;
};

void expect_parts(std::string_view text, const Parts& want) {
    auto j = Jid::parse(text);
    ASSERT_TRUE(j) << text;
    EXPECT_EQ(j->local(), want.local) << text;
    EXPECT_EQ(j->domain(), want.domain) << text;
    EXPECT_EQ(j->resource(), want.resource) << text;
}

}  // namespace

// RFC 7622 §3.5, Examples 1-15 (valid).
TEST(JidRfc7622, GoodExamples) {
    expect_parts("juliet@example.com", {"juliet", "example.com", ""});
    expect_parts("juliet@example.com/foo", {"juliet", "example.com", "foo"});
    expect_parts("juliet@example.com/foo bar", {"juliet", "example.com", "foo bar"});
    expect_parts("juliet@example.com/foo@bar", {"juliet", "example.com", "foo@bar"});
    expect_parts("foo\\20bar@example.com", {"foo\\20bar", "example.com", ""});
    expect_parts("fussball@example.com", {"fussball", "example.com", ""});
    // Nodeprep case folding maps ß to "ss" (PRECIS would keep "fußball").
    expect_parts("fu\u00DFball@example.com", {"fussball", "example.com", ""});
    expect_parts("\u03C0@example.com", {"\u03C0", "example.com", ""});
    expect_parts("\u03A3@example.com/foo", {"\u03C3", "example.com", "foo"});
    expect_parts("\u03C3@example.com/foo", {"\u03C3", "example.com", "foo"});
    // Final sigma folds to σ under Nodeprep (PRECIS keeps ς).
    expect_parts("\u03C2@example.com/foo", {"\u03C3", "example.com", "foo"});
    expect_parts("king@example.com/\u265A", {"king", "example.com", "\u265A"});
    expect_parts("example.com", {"", "example.com", ""});
    expect_parts("example.com/foobar", {"", "example.com", "foobar"});
    expect_parts("a.example.com/b@example.net", {"", "a.example.com", "b@example.net"});
}

// RFC 7622 §3.5, Examples 16-23 (invalid).
TEST(JidRfc7622, BadExamples) {
    for (const char* bad : {
             "\"juliet\"@example.com",   // 16: quotation marks in the localpart
             "foo bar@example.com",      // 17: space in the localpart
             "juliet@example.com/",      // 18: empty resourcepart
             "@example.com/",            // 19: empty localpart and resourcepart
             "henry\u2163@example.com",  // 20: ROMAN NUMERAL FOUR (compatibility character)
             "\u265A@example.com",       // 21: BLACK CHESS KING (symbol) in the localpart
             "juliet@",                  // 22: no domainpart
             "/foobar",                  // 23: no domainpart
         })
        EXPECT_FALSE(Jid::parse(bad)) << bad;
}

TEST(JidStructure, MoreInvalidForms) {
    for (const char* bad : {"", "@", "/", "@/", "@example.com", "example.com/", "a@b@example.com", "user@@host",
                            "node@/server", "@/resource", "a&b@example.com", "a'b@example.com", "a:b@example.com",
                            "a<b@example.com", "a>b@example.com"})
        EXPECT_FALSE(Jid::parse(bad)) << bad;
}

TEST(JidStructure, SplitsAtFirstSlashThenFirstAt) {
    expect_parts("server/resource@foo", {"", "server", "resource@foo"});
    expect_parts("user@example.com/foo/bar", {"user", "example.com", "foo/bar"});
}

TEST(JidNormalization, LocalpartIsCaseFoldedResourceIsNot) {
    auto j = Jid::must_parse("Juliet@EXAMPLE.com/Balcony");
    EXPECT_EQ(j.str(), "juliet@example.com/Balcony");
    EXPECT_EQ(j, Jid::must_parse("JULIET@example.COM/Balcony"));
    EXPECT_NE(j, Jid::must_parse("juliet@example.com/balcony"));
}

TEST(JidNormalization, WidthForms) {
    // Fullwidth letters are width-mapped in the localpart (PRECIS does too).
    EXPECT_EQ(Jid::must_parse("\uFF26\uFF2F\uFF2F@example.com").local(), "foo");
    // Resourceprep applies NFKC (PRECIS OpaqueString would keep them).
    EXPECT_EQ(Jid::must_parse("example.com/\uFF26\uFF2F\uFF2F").resource(), "FOO");
    EXPECT_EQ(Jid::must_parse("\uFF25\uFF38\uFF21\uFF2D\uFF30\uFF2C\uFF25\uFF0E\uFF23\uFF2F\uFF2D").domain(),
              "example.com");
}

TEST(JidNormalization, ComposedAndDecomposedAreEqual) {
    // "é" precomposed vs. e + COMBINING ACUTE ACCENT.
    EXPECT_EQ(Jid::must_parse("\u00E9@example.com"), Jid::must_parse("e\u0301@example.com"));
    EXPECT_EQ(Jid::must_parse("\u00C9@example.com").local(), "\u00E9");
}

TEST(JidNormalization, InternationalizedDomains) {
    auto u = Jid::must_parse("user@b\u00FCcher.example");
    EXPECT_EQ(u.domain(), "b\u00FCcher.example");
    EXPECT_EQ(Jid::must_parse("user@B\u00DCCHER.EXAMPLE"), u);
    EXPECT_EQ(Jid::must_parse("user@xn--bcher-kva.example"), u);  // A-labels become U-labels
    EXPECT_EQ(Jid::must_parse("user@XN--BCHER-KVA.example"), u);
    EXPECT_EQ(Jid::must_parse("fa\u00DF.de").domain(), "fa\u00DF.de");  // IDNA2008, non-transitional
    EXPECT_FALSE(Jid::parse("user@xn--zz.example"));                     // bad punycode
}

TEST(JidNormalization, TrailingDot) {
    EXPECT_EQ(Jid::must_parse("juliet@example.com./x").str(), "juliet@example.com/x");
    EXPECT_EQ(Jid::must_parse("example.com\u3002").domain(), "example.com");  // ideographic full stop
    EXPECT_FALSE(Jid::parse("example.com.."));
    EXPECT_FALSE(Jid::parse("."));
}

TEST(JidDomain, IpLiterals) {
    expect_parts("user@192.0.2.1", {"user", "192.0.2.1", ""});
    expect_parts("user@[::1]/r", {"user", "[::1]", "r"});
    expect_parts("[2001:DB8::1]", {"", "[2001:DB8::1]", ""});
    EXPECT_FALSE(Jid::parse("user@[::1"));
    EXPECT_FALSE(Jid::parse("user@[zz::1]"));
    EXPECT_FALSE(Jid::parse("user@[]"));
    EXPECT_FALSE(Jid::parse("user@::1"));
}

TEST(JidDomain, LabelRules) {
    EXPECT_TRUE(Jid::parse("localhost"));
    EXPECT_TRUE(Jid::parse("a-b.example"));
    for (const char* bad : {"do_main.com", "exa mple.com", "example..com", ".example.com", "-abc.com", "abc-.com",
                            "ex\uFF20ample.com", "a\u2488b.com"})
        EXPECT_FALSE(Jid::parse(bad)) << bad;
    EXPECT_TRUE(Jid::parse(std::string(63, 'a') + ".example"));
    EXPECT_FALSE(Jid::parse(std::string(64, 'a') + ".example"));
}

TEST(JidLimits, PartLengths) {
    const std::string l1023(1023, 'a'), l1024(1024, 'a');
    EXPECT_TRUE(Jid::parse(l1023 + "@example.com"));
    EXPECT_FALSE(Jid::parse(l1024 + "@example.com"));
    EXPECT_TRUE(Jid::parse("example.com/" + l1023));
    EXPECT_FALSE(Jid::parse("example.com/" + l1024));
    // 512 two-byte characters are 1024 bytes.
    std::string wide;
    for (int i = 0; i < 512; ++i) wide += "\u00E9";
    EXPECT_FALSE(Jid::parse(wide + "@example.com"));
}

TEST(JidLimits, EncodingAndControls) {
    EXPECT_FALSE(Jid::parse("jul\x01iet@example.com"));
    EXPECT_FALSE(Jid::parse(std::string("jul\0iet@example.com", 19)));
    EXPECT_FALSE(Jid::parse(std::string("example.com/a\0b", 15)));
    EXPECT_FALSE(Jid::parse("\xC3@example.com"));          // truncated UTF-8
    EXPECT_FALSE(Jid::parse("\xC0\xAF@example.com"));      // overlong '/'
    EXPECT_FALSE(Jid::parse("\xED\xA0\x80@example.com"));  // surrogate
    EXPECT_FALSE(Jid::parse("user@example.com/\x7F"));
    EXPECT_TRUE(Jid::parse("user@example.org/\U0001F37A"));  // newer than Unicode 3.2: allowed in resources
    EXPECT_FALSE(Jid::parse("\U0001F37A@example.org"));      // but not a localpart symbol
}

TEST(JidApi, BareWithResourceAndStr) {
    auto full = Jid::must_parse("romeo@montague.lit/orchard");
    EXPECT_FALSE(full.is_bare());
    auto bare = full.bare();
    EXPECT_TRUE(bare.is_bare());
    EXPECT_EQ(bare.str(), "romeo@montague.lit");
    EXPECT_EQ(bare.with_resource("orchard"), full);
    EXPECT_EQ(bare.with_resource("\uFF21").resource(), "A");  // prepared like a parsed one
    EXPECT_THROW(bare.with_resource(""), std::invalid_argument);
    EXPECT_THROW(bare.with_resource(std::string("a\0b", 3)), std::invalid_argument);
    EXPECT_THROW(Jid().with_resource("x"), std::invalid_argument);
    EXPECT_EQ(Jid::must_parse("montague.lit").str(), "montague.lit");
}

TEST(JidApi, MustParseThrows) {
    EXPECT_THROW(Jid::must_parse("juliet@"), std::invalid_argument);
    EXPECT_NO_THROW(Jid::must_parse("juliet@example.com"));
}

TEST(JidApi, EmptyJid) {
    Jid j;
    EXPECT_TRUE(j.empty());
    EXPECT_EQ(j.str(), "");
    EXPECT_FALSE(Jid::must_parse("example.com").empty());
}

TEST(JidApi, OrderingAndHashing) {
    auto a = Jid::must_parse("a@example.com");
    auto b = Jid::must_parse("b@example.com");
    auto a_r = Jid::must_parse("a@example.com/r");
    EXPECT_LT(a, b);
    EXPECT_LT(a, a_r);
    EXPECT_FALSE(b < a);
    std::set<Jid> ordered{b, a_r, a, Jid::must_parse("A@EXAMPLE.COM")};
    EXPECT_EQ(ordered.size(), 3u);
    std::unordered_set<Jid> hashed{b, a_r, a, Jid::must_parse("A@Example.com")};
    EXPECT_EQ(hashed.size(), 3u);
    EXPECT_TRUE(hashed.count(Jid::must_parse("a@EXAMPLE.com/r")));
}
