// The OOB chunk framing (wire profile §6.2): what the encoder writes parses
// back to the same ids, bytes and ends however the stream is split, and
// malformed framing fails with a clear error instead of being guessed at.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "xmpp/oob/chunk_codec.hpp"

using namespace xpmn;
using oob::ChunkParser;

namespace {

// What a parser made of a stream: per event "id:data" or "id$" (end),
// adjacent data pieces of one id merged; and the error, if any.
struct Parsed {
    std::vector<std::string> events;
    std::string error;
    bool at_boundary = false;
};

Parsed parse_pieces(const std::vector<std::string_view>& pieces) {
    ChunkParser parser;
    Parsed out;
    bool last_was_data = false;
    for (auto piece : pieces) {
        while (!piece.empty()) {
            auto ev = parser.next(piece);
            if (!ev) {
                out.error = ev.error().text;
                EXPECT_EQ(ev.error().condition, "bad-request");
                return out;
            }
            if (!*ev) break;
            const auto& e = **ev;
            if (e.kind == ChunkParser::Event::Kind::end) {
                out.events.push_back(std::string(e.id) + "$");
                last_was_data = false;
                continue;
            }
            EXPECT_FALSE(e.data.empty());
            std::string prefix = std::string(e.id) + ":";
            if (last_was_data && out.events.back().starts_with(prefix))
                out.events.back() += e.data;
            else
                out.events.push_back(prefix + std::string(e.data));
            last_was_data = true;
        }
    }
    out.at_boundary = parser.at_boundary();
    return out;
}

Parsed parse(std::string_view wire) { return parse_pieces({wire}); }

std::string bytes(std::size_t n, std::size_t seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed) % 256);
    return s;
}

}  // namespace

TEST(OobChunks, EncodesTheWireFormat) {
    std::string out;
    oob::append_chunk(out, "103", "hello");
    oob::append_end(out, "103");
    EXPECT_EQ(out, "5 103\r\nhello\r\n0 103\r\n\r\n");
    out.clear();
    oob::append_chunk(out, "x", bytes(oob::kMaxChunkSize));
    EXPECT_EQ(out.substr(0, 9), "10000 x\r\n");
}

TEST(OobChunks, EncoderRefusesWhatTheWireCannotCarry) {
    std::string out;
    EXPECT_THROW(oob::append_chunk(out, "a-b", "x"), std::invalid_argument);
    EXPECT_THROW(oob::append_chunk(out, "", "x"), std::invalid_argument);
    EXPECT_THROW(oob::append_chunk(out, std::string(oob::kMaxIdLength + 1, 'a'), "x"), std::invalid_argument);
    EXPECT_THROW(oob::append_chunk(out, "a", ""), std::invalid_argument);
    EXPECT_THROW(oob::append_chunk(out, "a", bytes(oob::kMaxChunkSize + 1)), std::invalid_argument);
    EXPECT_THROW(oob::append_end(out, "a b"), std::invalid_argument);
    EXPECT_TRUE(out.empty());
}

TEST(OobChunks, RoundTripsAtEverySplitPoint) {
    std::string wire;
    oob::append_chunk(wire, "1", "abc\r\n0 1\r\n\r\n");  // framing-like bytes inside data
    oob::append_chunk(wire, "Big7", bytes(300));
    oob::append_end(wire, "1");
    oob::append_end(wire, "zZ9");  // an id without data
    oob::append_chunk(wire, "Big7", bytes(40, 3));
    oob::append_end(wire, "Big7");
    const std::vector<std::string> expected = {"1:abc\r\n0 1\r\n\r\n", "Big7:" + bytes(300), "1$", "zZ9$",
                                               "Big7:" + bytes(40, 3), "Big7$"};
    auto whole = parse(wire);
    EXPECT_EQ(whole.error, "");
    EXPECT_EQ(whole.events, expected);
    EXPECT_TRUE(whole.at_boundary);
    for (std::size_t i = 0; i <= wire.size(); ++i) {
        std::string_view w(wire);
        auto two = parse_pieces({w.substr(0, i), w.substr(i)});
        EXPECT_EQ(two.error, "") << "split at " << i;
        EXPECT_EQ(two.events, expected) << "split at " << i;
        for (std::size_t j = i; j <= wire.size(); j += 37) {
            auto three = parse_pieces({w.substr(0, i), w.substr(i, j - i), w.substr(j)});
            EXPECT_EQ(three.events, expected) << "split at " << i << " and " << j;
        }
    }
    std::vector<std::string_view> singles;
    for (std::size_t i = 0; i < wire.size(); ++i) singles.push_back(std::string_view(wire).substr(i, 1));
    EXPECT_EQ(parse_pieces(singles).events, expected);
}

TEST(OobChunks, DataComesAsViewsOfTheInputWithoutCopies) {
    std::string wire;
    oob::append_chunk(wire, "7", bytes(1000));
    ChunkParser parser;
    std::string_view in(wire);
    auto ev = parser.next(in);
    ASSERT_TRUE(ev.ok());
    ASSERT_TRUE(ev->has_value());
    EXPECT_EQ((*ev)->data.size(), 1000u);
    EXPECT_EQ((*ev)->data.data(), wire.data() + 7);  // right after "3e8 7\r\n"
    EXPECT_EQ((*ev)->id, "7");
    EXPECT_EQ(in, "\r\n");
    EXPECT_FALSE(parser.at_boundary());
}

TEST(OobChunks, AcceptsTheLimitsAndUppercaseOrPaddedHex) {
    std::string id(oob::kMaxIdLength, 'q');
    std::string wire = "0010000 " + id + "\r\n" + bytes(oob::kMaxChunkSize) + "\r\n" + "A " + id + "\r\n" +
                       bytes(10) + "\r\n" + "00000000 " + id + "\r\n\r\n";
    auto p = parse(wire);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.events, (std::vector<std::string>{id + ":" + bytes(oob::kMaxChunkSize) + bytes(10), id + "$"}));
}

TEST(OobChunks, MalformedFramingFailsWithAClearError) {
    struct Case {
        std::string wire;
        std::string error_part;
    };
    const std::vector<Case> cases = {
        {"g 1\r\nx\r\n", "bad character 0x67 in the chunk size"},
        {" 1\r\n", "chunk size missing"},
        {"-1 1\r\n", "bad character 0x2d in the chunk size"},
        {"10001 1\r\n", "chunk larger than 65536 bytes"},
        {"ffffffffff 1\r\n", "chunk larger than 65536"},
        {"000000001 1\r\nx\r\n", "longer than 8 hex digits"},
        {"1 \r\nx\r\n", "chunk id missing"},
        {"1  a\r\n", "chunk id missing"},
        {"1 a-b\r\n", "bad character 0x2d in chunk id"},
        {"1 a\n", "bad character 0x0a in chunk id"},
        {"1 " + std::string(oob::kMaxIdLength + 1, 'a') + "\r\n", "chunk id longer than 64"},
        {"1 a\rx", "header of id a not ended by CRLF"},
        {"1 a\r\nxy\r\n", "chunk of id a longer than its size or not ended by CRLF"},
        {"1 a\r\nx\rz", "CR without LF"},
        {"0 a\r\nx", "end of id a not followed by CRLF"},
        {"0 a\r\n\r0", "CR without LF"},
    };
    for (const auto& c : cases) {
        auto p = parse(c.wire);
        EXPECT_NE(p.error.find(c.error_part), std::string::npos) << "input " << c.wire << " gave " << p.error;
        // Split into single bytes: the same error.
        std::vector<std::string_view> singles;
        for (std::size_t i = 0; i < c.wire.size(); ++i) singles.push_back(std::string_view(c.wire).substr(i, 1));
        EXPECT_EQ(parse_pieces(singles).error, p.error) << c.wire;
    }
}

TEST(OobChunks, StaysFailedAfterAnError) {
    ChunkParser parser;
    std::string_view bad = "x";
    EXPECT_FALSE(parser.next(bad).ok());
    EXPECT_TRUE(parser.failed());
    std::string good;
    oob::append_chunk(good, "1", "ok");
    std::string_view in(good);
    auto again = parser.next(in);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().text.find("0x78"), std::string::npos);
}

TEST(OobChunks, PartialInputIsNotAnEventNorAnError) {
    ChunkParser parser;
    std::string_view in = "1 abc\r";
    auto ev = parser.next(in);
    ASSERT_TRUE(ev.ok());
    EXPECT_FALSE(ev->has_value());
    EXPECT_TRUE(in.empty());
    EXPECT_FALSE(parser.at_boundary());
}
