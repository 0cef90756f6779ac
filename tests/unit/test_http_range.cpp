// Range / Content-Range parsing, formatting and resolution (RFC 9110 §14):
// inclusive offsets like the wire's transfer from/to, single ranges only.
#include <gtest/gtest.h>

#include <algorithm>

#include "bridge/relay/http_range.hpp"

using namespace xpmn::relay;

namespace {

constexpr std::uint64_t kMax = UINT64_MAX;

std::string condition_of_range(std::string_view header) {
    auto r = parse_range(header);
    return r ? std::string("ok") : r.error().condition;
}

}  // namespace

TEST(HttpRange, FormatsTheThreeForms) {
    EXPECT_EQ(format_range(RangeSpec::from_to(64537, 99999)), "bytes=64537-99999");
    EXPECT_EQ(format_range(RangeSpec::from_to(0, 0)), "bytes=0-0");
    EXPECT_EQ(format_range(RangeSpec::from_to(100)), "bytes=100-");
    EXPECT_EQ(format_range(RangeSpec::last_bytes(500)), "bytes=-500");
}

TEST(HttpRange, ParsesWhatItFormats) {
    for (const RangeSpec& r : {RangeSpec::from_to(0, 0), RangeSpec::from_to(5), RangeSpec::last_bytes(1),
                               RangeSpec::from_to(kMax - 1, kMax), RangeSpec::from_to(kMax)}) {
        auto parsed = parse_range(format_range(r));
        ASSERT_TRUE(parsed) << format_range(r) << ": " << parsed.error().describe();
        EXPECT_EQ(*parsed, r) << format_range(r);
    }
}

TEST(HttpRange, UnitIsCaseInsensitiveAndSpaceAroundTheSpecIsAllowed) {
    auto r = parse_range("Bytes= 10-20 ");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, RangeSpec::from_to(10, 20));
}

TEST(HttpRange, RefusesGarbage) {
    for (std::string_view h : {"", "bytes", "bytes=", "bytes=-", "items=0-1", "bytes=a-b", "bytes=1-2-3",
                               "bytes=+1-2", "bytes=1 -2", "bytes=0x1-2", "bytes=1-2,4-5", "bytes=--1",
                               "bytes=5-4", "bytes=-1-2", "bytes=1.5-2", "=0-1"})
        EXPECT_EQ(condition_of_range(h), "bad-request") << "'" << h << "'";
}

TEST(HttpRange, RefusesNumbersThatOverflow) {
    EXPECT_EQ(condition_of_range("bytes=18446744073709551616-"), "bad-request");  // 2^64
    EXPECT_EQ(condition_of_range("bytes=0-99999999999999999999999"), "bad-request");
    EXPECT_EQ(condition_of_range("bytes=-18446744073709551616"), "bad-request");
    EXPECT_EQ(condition_of_range("bytes=18446744073709551615-"), "ok");  // 2^64-1
}

TEST(HttpRange, ParsesContentRange) {
    auto full = parse_content_range("bytes 0-499/1234");
    ASSERT_TRUE(full);
    EXPECT_EQ(*full, (ContentRange{ByteSpan{0, 499}, 1234}));
    auto unknown = parse_content_range("bytes 5-5/*");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(*unknown, (ContentRange{ByteSpan{5, 5}, std::nullopt}));
    auto unsatisfied = parse_content_range("bytes */1234");
    ASSERT_TRUE(unsatisfied);
    EXPECT_EQ(*unsatisfied, (ContentRange{std::nullopt, 1234}));
    auto last_byte = parse_content_range("bytes 1233-1233/1234");
    ASSERT_TRUE(last_byte);
    EXPECT_EQ(last_byte->span->size(), 1u);
}

TEST(HttpRange, RefusesBadContentRange) {
    for (std::string_view h : {"", "bytes", "bytes 0-1", "bytes */*", "bytes 0-1234/1234", "bytes 5-4/10",
                               "bytes 0-/10", "bytes -1/10", "items 0-1/2", "bytes 0-1/x", "bytes=0-1/2",
                               "bytes 0-1/18446744073709551616", "bytes 0-1/-2"}) {
        auto r = parse_content_range(h);
        EXPECT_FALSE(r) << "'" << h << "'";
        if (!r) {
            EXPECT_EQ(r.error().condition, "bad-request");
        }
    }
}

TEST(HttpRange, FormatsContentRange) {
    EXPECT_EQ(format_content_range(ByteSpan{64537, 99999}, 19923010), "bytes 64537-99999/19923010");
    EXPECT_EQ(format_unsatisfied_range(19923010), "bytes */19923010");
    auto back = parse_content_range(format_content_range(ByteSpan{0, 0}, 1));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, (ContentRange{ByteSpan{0, 0}, 1}));
}

TEST(HttpRange, ResolvesInsideTheResource) {
    auto r = resolve_range(RangeSpec::from_to(64537, 99999), 19923010);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (ByteSpan{64537, 99999}));
    EXPECT_EQ(r->size(), 35463u);  // the wire profile's example
}

TEST(HttpRange, ResolvesSingleFirstAndLastByte) {
    EXPECT_EQ(*resolve_range(RangeSpec::from_to(0, 0), 10), (ByteSpan{0, 0}));
    EXPECT_EQ(*resolve_range(RangeSpec::from_to(9, 9), 10), (ByteSpan{9, 9}));
    EXPECT_EQ(*resolve_range(RangeSpec::from_to(9), 10), (ByteSpan{9, 9}));
    EXPECT_EQ(*resolve_range(RangeSpec::last_bytes(1), 10), (ByteSpan{9, 9}));
    EXPECT_EQ(*resolve_range(RangeSpec::from_to(0, 0), 1), (ByteSpan{0, 0}));
}

TEST(HttpRange, CutsALastOffsetPastTheEndAndALongSuffix) {
    EXPECT_EQ(*resolve_range(RangeSpec::from_to(5, 1000), 10), (ByteSpan{5, 9}));
    EXPECT_EQ(*resolve_range(RangeSpec::from_to(0, kMax), 10), (ByteSpan{0, 9}));
    EXPECT_EQ(*resolve_range(RangeSpec::last_bytes(1000), 10), (ByteSpan{0, 9}));
    EXPECT_EQ(*resolve_range(RangeSpec::last_bytes(kMax), kMax), (ByteSpan{0, kMax - 1}));
}

TEST(HttpRange, StartAtOrPastTheEndIsNotSatisfiable) {
    for (const RangeSpec& r : {RangeSpec::from_to(10), RangeSpec::from_to(10, 10), RangeSpec::from_to(kMax),
                               RangeSpec::last_bytes(0)}) {
        auto got = resolve_range(r, 10);
        ASSERT_FALSE(got) << format_range(r);
        EXPECT_EQ(got.error().condition, kRangeNotSatisfiable);
    }
}

TEST(HttpRange, NothingOfAnEmptyResourceIsSatisfiable) {
    for (const RangeSpec& r : {RangeSpec::from_to(0), RangeSpec::from_to(0, 0), RangeSpec::last_bytes(5)}) {
        auto got = resolve_range(r, 0);
        ASSERT_FALSE(got) << format_range(r);
        EXPECT_EQ(got.error().condition, kRangeNotSatisfiable);
    }
}

TEST(HttpRange, ABackwardsRangeIsABadRequestNotUnsatisfiable) {
    auto got = resolve_range(RangeSpec::from_to(5, 4), 10);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().condition, "bad-request");
}
