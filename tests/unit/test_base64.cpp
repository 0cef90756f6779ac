// The one base64 of the XMPP stack (IBB data, pubkey certificates, caps):
// round trips, XML whitespace allowed, and strict refusal with a text that
// says what is wrong.
#include <gtest/gtest.h>

#include "xmpp/core/base64.hpp"

using namespace xpmn;

TEST(Base64, RoundTrips) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 100u, 256u}) {
        auto back = base64_decode(base64_encode(all.substr(0, n)));
        ASSERT_TRUE(back) << n;
        EXPECT_EQ(*back, all.substr(0, n));
    }
    EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
}

TEST(Base64, AllowsXmlWhitespace) {
    auto r = base64_decode(" aGVs\r\n\tbG8=\n");  // line breaks as in XEP-0047's examples
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "hello");
}

TEST(Base64, RefusesStrictlyWithAClearText) {
    for (const char* bad : {"=AAA", "BBBB=CCC", "abc", "a*bc", "aGVsbG8=aGVs", "aGV=bG8=", "aG=x", "A===", "====",
                            "aGVs-G8="}) {
        auto r = base64_decode(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().condition, "bad-request");
        EXPECT_EQ(r.error().text.rfind("not base64: ", 0), 0u) << r.error().text;
    }
    EXPECT_NE(base64_decode("a*bc").error().text.find("offset 1"), std::string::npos);
    EXPECT_NE(base64_decode("abc").error().text.find("multiple of 4"), std::string::npos);
}
