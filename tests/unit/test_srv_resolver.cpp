// SRV lookup: the DNS wire format (hostile replies included), RFC 2782
// ordering, the resolver and XmppConnector against an in-process fake
// nameserver, and SrvLive.*: against a real dnsmasq, driven by
// tests/integration/test_srv_lookup.py through XPMN_TEST_* variables
// (skipped without XPMN_TEST_DNS).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "xmpp/net/srv_resolver.hpp"
#include "xmpp/net/xmpp_connector.hpp"

using namespace xpmn::net;
using xpmn::Error;
using xpmn::Result;
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

namespace {

// ---- DNS message construction for the tests --------------------------------

std::string be16(std::uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

std::string wire_name(std::string_view name) {  // uncompressed; "" or "." is the root
    std::string out;
    while (!name.empty() && name != ".") {
        auto dot = name.find('.');
        auto label = name.substr(0, dot);
        out += static_cast<char>(label.size());
        out += label;
        name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    return out + '\0';
}

std::string pointer(std::uint16_t offset) { return be16(static_cast<std::uint16_t>(0xC000 | offset)); }

std::string rr(const std::string& owner_wire, std::uint16_t type, const std::string& rdata, std::uint16_t cls = 1) {
    return owner_wire + be16(type) + be16(cls) + std::string("\0\0\x0e\x10", 4) + be16(static_cast<std::uint16_t>(rdata.size())) +
           rdata;
}

std::string srv_rdata(std::uint16_t prio, std::uint16_t weight, std::uint16_t port, const std::string& target_wire) {
    return be16(prio) + be16(weight) + be16(port) + target_wire;
}

constexpr std::uint16_t kId = 0x4a7f;
const std::string kName = "_xmpp-client._tcp.example.org";
constexpr std::size_t kQuestionAt = 12;

struct Reply {
    std::uint16_t id = kId;
    std::uint16_t flags = 0x8180;  // QR, RD, RA, NOERROR
    std::string question = wire_name(kName) + be16(33) + be16(1);
    std::vector<std::string> answers;
    std::optional<std::uint16_t> qdcount, ancount;  // override the true counts

    std::string bytes() const {
        std::string m = be16(id) + be16(flags) + be16(qdcount.value_or(question.empty() ? 0 : 1)) +
                        be16(ancount.value_or(static_cast<std::uint16_t>(answers.size()))) + be16(0) + be16(0) +
                        question;
        for (const auto& a : answers) m += a;
        return m;
    }
};

detail::ParsedReply parse(const std::string& msg) { return detail::parse_srv_reply(msg, kId, kName); }

// ---- building queries -----------------------------------------------------

TEST(SrvQuery, BuildsStandardQuery) {
    std::string q = detail::build_srv_query(0xBEEF, kName);
    std::string expect = std::string("\xBE\xEF\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) +
                         "\x0c_xmpp-client\x04_tcp\x07" "example\x03org" + std::string("\0\0\x21\0\x01", 5);
    EXPECT_EQ(q, expect);
    EXPECT_EQ(detail::build_srv_query(0xBEEF, kName + "."), expect);  // one trailing dot is fine
}

TEST(SrvQuery, RejectsUnencodableNames) {
    EXPECT_EQ(detail::build_srv_query(1, ""), "");
    EXPECT_EQ(detail::build_srv_query(1, "."), "");
    EXPECT_EQ(detail::build_srv_query(1, "a..b"), "");
    EXPECT_EQ(detail::build_srv_query(1, ".a"), "");
    EXPECT_EQ(detail::build_srv_query(1, "a.b.."), "");
    EXPECT_EQ(detail::build_srv_query(1, std::string(64, 'a') + ".org"), "");
    EXPECT_NE(detail::build_srv_query(1, std::string(63, 'a') + ".org"), "");
    EXPECT_EQ(detail::build_srv_query(1, std::string("a\0b.org", 7)), "");
    EXPECT_EQ(detail::build_srv_query(1, "a b.org"), "");
    std::string long_name;  // 4 * 64 octets on the wire + root: 257 > 255
    for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + (i < 3 ? "." : "");
    EXPECT_EQ(detail::build_srv_query(1, long_name), "");
    EXPECT_NE(detail::build_srv_query(1, long_name.substr(4)), "");  // 253 characters: fits
}

// ---- parsing replies ------------------------------------------------------

TEST(SrvParse, TwoRecordsWithCompression) {
    Reply r;
    // The owner points at the question; the second target ends in a pointer to
    // "example.org" inside it (offset of the 7-byte label).
    std::size_t example_at = kQuestionAt + 1 + 12 + 1 + 4;
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(10, 5, 5222, wire_name("xmpp1.example.org"))));
    r.answers.push_back(rr(pointer(kQuestionAt), 33,
                           srv_rdata(20, 0, 5223, std::string("\x05xmpp2", 6) + pointer(static_cast<std::uint16_t>(example_at)))));
    auto p = parse(r.bytes());
    EXPECT_TRUE(p.ours);
    ASSERT_EQ(p.error, "");
    ASSERT_EQ(p.records.size(), 2u);
    EXPECT_EQ(p.records[0], (SrvTarget{"xmpp1.example.org", 5222, 10, 5}));
    EXPECT_EQ(p.records[1], (SrvTarget{"xmpp2.example.org", 5223, 20, 0}));
}

TEST(SrvParse, NxdomainAndNodataAreEmptyWithoutError) {
    Reply nx;
    nx.flags = 0x8183;
    auto p = parse(nx.bytes());
    EXPECT_TRUE(p.ours);
    EXPECT_EQ(p.error, "");
    EXPECT_TRUE(p.records.empty());

    Reply nodata;
    p = parse(nodata.bytes());
    EXPECT_TRUE(p.ours);
    EXPECT_EQ(p.error, "");
    EXPECT_TRUE(p.records.empty());
}

TEST(SrvParse, SkipsOtherTypesClassesAndNames) {
    Reply r;
    r.answers.push_back(rr(pointer(kQuestionAt), 1, std::string("\x7f\0\0\x01", 4)));  // A
    r.answers.push_back(rr(pointer(kQuestionAt), 16, "\x03txt"));       // TXT
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, wire_name("chaos.org")), 3));  // class CH
    r.answers.push_back(rr(wire_name("_xmpp-server._tcp.example.org"), 33, srv_rdata(1, 1, 5269, wire_name("s2s.org"))));
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(5, 1, 5222, wire_name("c2s.example.org"))));
    auto p = parse(r.bytes());
    ASSERT_EQ(p.error, "");
    ASSERT_EQ(p.records.size(), 1u);
    EXPECT_EQ(p.records[0].host, "c2s.example.org");
}

TEST(SrvParse, FollowsCnameWithinAnswer) {
    Reply r;
    r.answers.push_back(rr(pointer(kQuestionAt), 5, wire_name("alias.example.net")));
    r.answers.push_back(rr(wire_name("ALIAS.example.net"), 33, srv_rdata(1, 1, 5222, wire_name("x.example.net"))));
    auto p = parse(r.bytes());
    ASSERT_EQ(p.error, "");
    ASSERT_EQ(p.records.size(), 1u);
    EXPECT_EQ(p.records[0].host, "x.example.net");
}

TEST(SrvParse, RootTargetAndCaseInsensitiveQuestion) {
    Reply r;
    r.question = wire_name("_XMPP-Client._TCP.Example.ORG") + be16(33) + be16(1);
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(0, 0, 0, wire_name("."))));
    auto p = parse(r.bytes());
    ASSERT_EQ(p.error, "");
    ASSERT_EQ(p.records.size(), 1u);
    EXPECT_EQ(p.records[0].host, ".");
}

TEST(SrvParse, ServerFailuresAreErrors) {
    Reply tc;
    tc.flags = 0x8380;  // TC
    tc.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, wire_name("a.org"))));
    auto p = parse(tc.bytes());
    EXPECT_TRUE(p.ours);
    EXPECT_NE(p.error.find("truncated"), std::string::npos) << p.error;

    Reply servfail;
    servfail.flags = 0x8182;
    p = parse(servfail.bytes());
    EXPECT_TRUE(p.ours);
    EXPECT_NE(p.error.find("SERVFAIL"), std::string::npos) << p.error;

    Reply refused;  // without the question echo
    refused.flags = 0x8185;
    refused.question.clear();
    p = parse(refused.bytes());
    EXPECT_TRUE(p.ours);
    EXPECT_NE(p.error.find("REFUSED"), std::string::npos) << p.error;
}

TEST(SrvParse, RepliesToSomethingElseAreNotOurs) {
    Reply wrong_id;
    wrong_id.id = kId + 1;
    Reply query;  // QR clear
    query.flags = 0x0100;
    Reply other_opcode;
    other_opcode.flags = 0x8000 | (2 << 11);
    Reply other_name;
    other_name.question = wire_name("_xmpp-client._tcp.example.com") + be16(33) + be16(1);
    Reply other_type;
    other_type.question = wire_name(kName) + be16(1) + be16(1);
    Reply two_questions;
    two_questions.qdcount = 2;
    Reply noerror_without_question;
    noerror_without_question.question.clear();
    for (const auto* r : {&wrong_id, &query, &other_opcode, &other_name, &other_type, &two_questions,
                          &noerror_without_question}) {
        auto p = parse(r->bytes());
        EXPECT_FALSE(p.ours) << p.error;
        EXPECT_NE(p.error, "");
    }
}

// ---- hostile replies: an error, never a crash or a hang --------------------

void expect_bad(const std::string& msg, const char* what) {
    auto p = parse(msg);
    EXPECT_NE(p.error, "") << what;
    EXPECT_TRUE(p.records.empty()) << what;
}

TEST(SrvHostile, CompressionLoops) {
    std::size_t answer_at = Reply().bytes().size();
    Reply self_loop;  // owner name: a pointer to itself
    self_loop.answers.push_back(pointer(static_cast<std::uint16_t>(answer_at)) + std::string(10, '\0'));
    expect_bad(self_loop.bytes(), "pointer to itself");

    Reply label_loop;  // "\1a" then a pointer back to the "\1a"
    label_loop.answers.push_back("\x01" "a" + pointer(static_cast<std::uint16_t>(answer_at)) + std::string(10, '\0'));
    expect_bad(label_loop.bytes(), "label then pointer back");

    Reply ping_pong;  // target: pointer forward to a pointer back to the target
    std::string rdata_head = be16(1) + be16(1) + be16(1);
    std::size_t target_at = answer_at + 2 + 10 + 6;
    std::string rd = rdata_head + pointer(static_cast<std::uint16_t>(target_at + 2)) + pointer(static_cast<std::uint16_t>(target_at));
    ping_pong.answers.push_back(rr(pointer(kQuestionAt), 33, rd));
    expect_bad(ping_pong.bytes(), "two pointers at each other");

    Reply question_loop;  // the question itself is a pointer to the header
    question_loop.question = pointer(0) + be16(33) + be16(1);
    expect_bad(question_loop.bytes(), "question pointer");
}

TEST(SrvHostile, OutOfBounds) {
    Reply past_end;
    past_end.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, pointer(0x3fff))));
    expect_bad(past_end.bytes(), "pointer past the end");

    Reply half_pointer;  // the owner name is one byte of a pointer, then the end
    half_pointer.answers.push_back("\xC0");
    expect_bad(half_pointer.bytes(), "half a pointer");

    Reply long_label;
    long_label.answers.push_back("\x3f" "abc");
    expect_bad(long_label.bytes(), "label past the end");

    Reply rdlength_past_end;
    std::string a = rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, wire_name("a.org")));
    rdlength_past_end.answers.push_back(a.substr(0, a.size() - 2));
    expect_bad(rdlength_past_end.bytes(), "rdlength past the end");

    Reply short_srv;
    short_srv.answers.push_back(rr(pointer(kQuestionAt), 33, be16(1) + be16(1) + be16(1)));
    expect_bad(short_srv.bytes(), "SRV without target");

    Reply target_overruns_rdata;  // the name runs on after RDATA ends
    std::string rd = srv_rdata(1, 1, 1, wire_name("a.org"));
    std::string rec = rr(pointer(kQuestionAt), 33, rd);
    rec[rec.size() - rd.size() - 1] = static_cast<char>(rd.size() - 3);  // rdlength cut short
    target_overruns_rdata.answers.push_back(rec);
    expect_bad(target_overruns_rdata.bytes(), "target past RDATA");

    Reply trailing_in_rdata;
    trailing_in_rdata.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, wire_name("a.org")) + "xx"));
    expect_bad(trailing_in_rdata.bytes(), "bytes after the target");

    Reply binary_label;
    binary_label.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, std::string("\x03" "a\nb\0", 5))));
    expect_bad(binary_label.bytes(), "control character in label");

    Reply dotted_label;
    dotted_label.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, std::string("\x03" "a.b\0", 5))));
    expect_bad(dotted_label.bytes(), "dot in label");

    Reply extended_label;
    extended_label.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, std::string("\x41" "a\0", 3))));
    expect_bad(extended_label.bytes(), "0x40 label type");

    Reply too_long_name;  // 128 one-character labels: 257 octets
    std::string labels;
    for (int i = 0; i < 128; ++i) labels += "\x01x";
    too_long_name.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, labels + '\0')));
    expect_bad(too_long_name.bytes(), "name over 255 octets");

    expect_bad(std::string(65537, '\0'), "over 64 KiB");
    expect_bad("", "empty");
    expect_bad(std::string("\x4a\x7f\x81\x80", 4), "header cut short");
}

TEST(SrvHostile, HugeCounts) {
    Reply many;
    many.ancount = 0xffff;
    many.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, 1, wire_name("a.org"))));
    auto p = parse(many.bytes());
    EXPECT_NE(p.error.find("limit 64"), std::string::npos) << p.error;

    Reply claims_64;  // within the limit, but the records are not there
    claims_64.ancount = 64;
    claims_64.answers = many.answers;
    expect_bad(claims_64.bytes(), "64 claimed, 1 present");

    Reply questions;
    questions.qdcount = 0xffff;
    expect_bad(questions.bytes(), "65535 questions");

    Reply at_limit;  // exactly 64 records is fine
    for (int i = 0; i < 64; ++i)
        at_limit.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(1, 1, static_cast<std::uint16_t>(i), wire_name("a.org"))));
    p = parse(at_limit.bytes());
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.records.size(), 64u);
}

TEST(SrvHostile, EveryTruncationIsAnError) {
    Reply r;
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(10, 5, 5222, wire_name("xmpp1.example.org"))));
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(20, 5, 5222, wire_name("xmpp2.example.org"))));
    std::string full = r.bytes();
    ASSERT_EQ(parse(full).records.size(), 2u);
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto p = parse(full.substr(0, n));
        EXPECT_NE(p.error, "") << "cut at " << n;
        EXPECT_TRUE(p.records.empty());
    }
}

TEST(SrvHostile, RandomMutationsNeverCrash) {
    Reply r;
    r.answers.push_back(rr(pointer(kQuestionAt), 5, wire_name("alias.example.org")));
    r.answers.push_back(rr(wire_name("alias.example.org"), 33, srv_rdata(10, 5, 5222, std::string("\x01x", 2) + pointer(kQuestionAt + 18))));
    r.answers.push_back(rr(pointer(kQuestionAt), 33, srv_rdata(20, 5, 5222, wire_name("y.example.org"))));
    const std::string base = r.bytes();
    std::mt19937 rng(12345);
    std::size_t parsed_ok = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string m = base;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<char>(rng());
        if (rng() % 4 == 0) m.resize(rng() % (m.size() + 1));
        auto p = detail::parse_srv_reply(m, kId, kName);
        if (p.error.empty()) ++parsed_ok;
        EXPECT_LE(p.records.size(), detail::kMaxAnswers);
    }
    for (int i = 0; i < 5000; ++i) {  // pure noise, with a matching id half the time
        std::string m(rng() % 600, '\0');
        for (auto& c : m) c = static_cast<char>(rng());
        if (m.size() >= 2 && i % 2) m[0] = '\x4a', m[1] = '\x7f';
        detail::parse_srv_reply(m, kId, kName);
    }
    EXPECT_GT(parsed_ok, 0u);  // the mutations did not all break the header
}

TEST(SrvHostile, ReadNameBounds) {
    std::size_t end = 0;
    EXPECT_FALSE(detail::read_name("", 0, end));
    EXPECT_FALSE(detail::read_name("\x01", 0, end));
    EXPECT_FALSE(detail::read_name(std::string("\x00", 1), 5, end));
    EXPECT_EQ(detail::read_name(std::string("\x00", 1), 0, end), ".");
    EXPECT_EQ(end, 1u);
    std::string m = std::string("\x01" "a\0", 3) + "\x01" "b" + pointer(0);
    EXPECT_EQ(detail::read_name(m, 3, end), "b.a");
    EXPECT_EQ(end, m.size());
    EXPECT_FALSE(detail::read_name(m + pointer(static_cast<std::uint16_t>(m.size())), m.size(), end)) << "self";
    std::string back_to_start = std::string("\x01" "a\0", 3) + "\x01" "b" + pointer(3);
    EXPECT_FALSE(detail::read_name(back_to_start, 3, end)) << "pointer to the start of its own name";
}

// ---- RFC 2782 ordering ----------------------------------------------------

std::vector<SrvTarget> targets(std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> prio_weight) {
    std::vector<SrvTarget> out;
    for (auto [p, w] : prio_weight) out.push_back({"h" + std::to_string(out.size()), 5222, p, w});
    return out;
}

TEST(SrvOrder, LowestPriorityFirst) {
    for (unsigned seed = 0; seed < 50; ++seed) {
        std::mt19937 rng(seed);
        auto o = detail::order_srv(targets({{20, 1}, {10, 0}, {30, 100}, {10, 50}, {20, 0}}), rng);
        ASSERT_EQ(o.size(), 5u);
        std::vector<std::uint16_t> prios;
        for (const auto& t : o) prios.push_back(t.priority);
        EXPECT_EQ(prios, (std::vector<std::uint16_t>{10, 10, 20, 20, 30}));
    }
    std::mt19937 rng(1);
    EXPECT_TRUE(detail::order_srv({}, rng).empty());
}

TEST(SrvOrder, WeightZeroIncludedButRarelyFirst) {
    std::mt19937 rng(7);
    int heavy_first = 0, zero_first = 0;
    const int trials = 4000;
    for (int i = 0; i < trials; ++i) {
        auto o = detail::order_srv(targets({{1, 0}, {1, 10}, {1, 0}}), rng);
        ASSERT_EQ(o.size(), 3u);
        std::multiset<std::string> hosts;
        for (const auto& t : o) hosts.insert(t.host);
        EXPECT_EQ(hosts, (std::multiset<std::string>{"h0", "h1", "h2"}));
        (o[0].weight ? heavy_first : zero_first)++;
    }
    // Random number in [0, 10]: 0 picks the first weight-0 record (1 in 11).
    EXPECT_GT(heavy_first, trials * 85 / 100);
    EXPECT_GT(zero_first, trials * 5 / 100);
}

TEST(SrvOrder, WeightsBiasTheChoice) {
    std::mt19937 rng(99);
    int light_first = 0;
    const int trials = 10000;
    for (int i = 0; i < trials; ++i) {
        auto o = detail::order_srv(targets({{5, 1}, {5, 9}}), rng);
        if (o[0].weight == 1) ++light_first;
    }
    // RFC 2782's selection over [0, 10]: the weight-1 record wins for 0 and 1.
    EXPECT_NEAR(light_first / double(trials), 2.0 / 11, 0.02);

    auto o = detail::order_srv(targets({{1, 0}, {1, 0}, {1, 0}, {1, 0}}), rng);  // all zero: all kept
    EXPECT_EQ(o.size(), 4u);
}

// ---- the resolver against a fake nameserver --------------------------------

// Answers queries on a loopback UDP port; `respond` returns the datagrams to
// send back (none: stay silent).
class FakeDns {
public:
    using Respond = std::function<std::vector<std::string>(const std::string& query, int n)>;
    FakeDns(asio::io_context& io, Respond respond) : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), respond_(std::move(respond)) {
        receive();
    }
    udp::endpoint endpoint() const { return socket_.local_endpoint(); }
    int queries = 0;

private:
    void receive() {
        socket_.async_receive_from(asio::buffer(buf_), peer_, [this](boost::system::error_code ec, std::size_t n) {
            if (ec) return;
            ++queries;
            for (auto& d : respond_(std::string(buf_.data(), n), queries)) socket_.send_to(asio::buffer(d), peer_);
            receive();
        });
    }
    udp::socket socket_;
    udp::endpoint peer_;
    std::array<char, 2048> buf_{};
    Respond respond_;
};

// A reply to `query` (id and question copied) with the given flags and answers.
std::string answer(const std::string& query, std::vector<std::string> answers, std::uint16_t flags = 0x8180) {
    std::string m = query.substr(0, 2) + be16(flags) + be16(1) + be16(static_cast<std::uint16_t>(answers.size())) + be16(0) +
                    be16(0) + query.substr(12);
    for (auto& a : answers) m += a;
    return m;
}

std::string srv_rr(std::uint16_t prio, std::uint16_t weight, std::uint16_t port, const std::string& target) {
    return rr(pointer(kQuestionAt), 33, srv_rdata(prio, weight, port, wire_name(target)));
}

struct LookupResult {
    bool called = false;
    std::vector<SrvTarget> ordered;
    std::string error;
};

LookupResult run_lookup(asio::io_context& io, const std::string& name, udp::endpoint ns,
                        std::chrono::milliseconds timeout = 2s) {
    LookupResult res;
    auto r = SrvResolver::lookup(
        io, name,
        [&](Result<std::vector<SrvTarget>> o) {
            res.called = true;
            io.stop();
            if (o)
                res.ordered = std::move(o).value();
            else
                res.error = o.error().text;
        },
        ns, timeout);
    EXPECT_FALSE(res.called) << "handler called from inside lookup()";
    io.run_for(timeout + 2s);
    return res;
}

TEST(SrvResolverLoop, OrderedAnswer) {
    asio::io_context io;
    FakeDns dns(io, [](const std::string& q, int) {
        return std::vector<std::string>{answer(q, {srv_rr(20, 1, 2, "b.example.org"), srv_rr(10, 1, 1, "a.example.org")})};
    });
    auto res = run_lookup(io, kName, dns.endpoint());
    ASSERT_TRUE(res.called);
    EXPECT_EQ(res.error, "");
    ASSERT_EQ(res.ordered.size(), 2u);
    EXPECT_EQ(res.ordered[0], (SrvTarget{"a.example.org", 1, 10, 1}));
    EXPECT_EQ(res.ordered[1], (SrvTarget{"b.example.org", 2, 20, 1}));
}

TEST(SrvResolverLoop, IgnoresForgedRepliesAndKeepsWaiting) {
    asio::io_context io;
    FakeDns dns(io, [](const std::string& q, int) {
        std::string forged = answer(q, {srv_rr(1, 1, 666, "evil.example")});
        forged[0] = static_cast<char>(forged[0] ^ 0x55);  // wrong id
        return std::vector<std::string>{forged, "garbage", answer(q, {srv_rr(1, 1, 5222, "good.example")})};
    });
    auto res = run_lookup(io, kName, dns.endpoint());
    ASSERT_TRUE(res.called);
    EXPECT_EQ(res.error, "");
    ASSERT_EQ(res.ordered.size(), 1u);
    EXPECT_EQ(res.ordered[0].host, "good.example");
}

TEST(SrvResolverLoop, RetriesOnceThenTimesOut) {
    asio::io_context io;
    FakeDns silent(io, [](const std::string&, int) { return std::vector<std::string>{}; });
    auto t0 = std::chrono::steady_clock::now();
    auto res = run_lookup(io, kName, silent.endpoint(), 300ms);
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(res.called);
    EXPECT_NE(res.error.find("no answer"), std::string::npos) << res.error;
    EXPECT_EQ(silent.queries, 2);
    EXPECT_GE(took, 290ms);

    asio::io_context io2;
    FakeDns lossy(io2, [](const std::string& q, int n) {  // loses the first query
        return n == 1 ? std::vector<std::string>{} : std::vector<std::string>{answer(q, {srv_rr(1, 1, 1, "x.org")})};
    });
    res = run_lookup(io2, kName, lossy.endpoint(), 300ms);
    EXPECT_EQ(res.error, "");
    EXPECT_EQ(res.ordered.size(), 1u);
}

TEST(SrvResolverLoop, ServerSideOutcomes) {
    struct Case {
        std::uint16_t flags;
        bool error;
    };
    for (auto [flags, error] : {Case{0x8183, false}, Case{0x8182, true}, Case{0x8380, true}}) {
        asio::io_context io;
        FakeDns dns(io, [flags = flags](const std::string& q, int) { return std::vector<std::string>{answer(q, {}, flags)}; });
        auto res = run_lookup(io, kName, dns.endpoint());
        ASSERT_TRUE(res.called);
        EXPECT_EQ(!res.error.empty(), error) << std::hex << flags << ": " << res.error;
        EXPECT_TRUE(res.ordered.empty());
    }
}

TEST(SrvResolverLoop, UnreachableServerAndBadName) {
    asio::io_context io;
    udp::endpoint closed;
    {
        udp::socket s(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed = s.local_endpoint();
    }
    auto res = run_lookup(io, kName, closed, 500ms);  // ICMP refusal, or at worst the timeout
    ASSERT_TRUE(res.called);
    EXPECT_NE(res.error, "");

    asio::io_context io2;
    res = run_lookup(io2, "bad..name", closed, 500ms);
    ASSERT_TRUE(res.called);
    EXPECT_NE(res.error.find("not a valid DNS name"), std::string::npos) << res.error;
}

TEST(SrvResolverLoop, CancelSilencesTheHandler) {
    asio::io_context io;
    FakeDns dns(io, [](const std::string& q, int) { return std::vector<std::string>{answer(q, {srv_rr(1, 1, 1, "x.org")})}; });
    bool called = false;
    auto r = SrvResolver::lookup(io, kName, [&](auto) { called = true; }, dns.endpoint(), 300ms);
    r->cancel();
    io.run_for(1s);
    EXPECT_FALSE(called);
}

TEST(SrvResolverLoop, SystemNameserver) {
    std::string path = ::testing::TempDir() + "/resolv.conf.test";
    {
        std::ofstream f(path);
        f << "# comment\n; nameserver 10.0.0.1\nsearch example.org\n  nameserver   192.0.2.53  \nnameserver 192.0.2.54\n";
    }
    EXPECT_EQ(SrvResolver::system_nameserver(path), udp::endpoint(asio::ip::make_address("192.0.2.53"), 53));
    {
        std::ofstream f(path);
        f << "nameserver 2001:db8::1\n";
    }
    EXPECT_EQ(SrvResolver::system_nameserver(path), udp::endpoint(asio::ip::make_address("2001:db8::1"), 53));
    {
        std::ofstream f(path);
        f << "nameserver not-an-address\n";
    }
    EXPECT_EQ(SrvResolver::system_nameserver(path), udp::endpoint(asio::ip::make_address("127.0.0.1"), 53));
    EXPECT_EQ(SrvResolver::system_nameserver("/nonexistent/resolv.conf"),
              udp::endpoint(asio::ip::make_address("127.0.0.1"), 53));
    std::remove(path.c_str());
}

// ---- XmppConnector ---------------------------------------------------------

// Accepts TCP connections on a loopback port and counts them.
class Listener {
public:
    explicit Listener(asio::io_context& io, std::uint16_t port = 0)
        : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {
        accept();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    int accepted = 0;

private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (ec) return;
            ++accepted;
            sockets_.push_back(std::move(s));
            accept();
        });
    }
    tcp::acceptor acceptor_;
    std::deque<tcp::socket> sockets_;
};

std::uint16_t closed_tcp_port(asio::io_context& io) {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

struct ConnectResult {
    bool called = false;
    std::shared_ptr<TcpStream> stream;
    std::string error;
};

ConnectResult run_connect(asio::io_context& io, const std::string& domain, XmppConnector::Options opts) {
    ConnectResult res;
    auto c = XmppConnector::connect(io, domain, std::move(opts), [&](Result<std::shared_ptr<TcpStream>> s) {
        res.called = true;
        if (s)
            res.stream = std::move(s).value();
        else
            res.error = s.error().text;
        io.stop();
    });
    EXPECT_FALSE(res.called);
    io.run_for(5s);
    io.restart();
    return res;
}

std::uint16_t remote_port(const ConnectResult& r) { return r.stream ? r.stream->socket().remote_endpoint().port() : 0; }

TEST(XmppConnectorLoop, TriesSrvTargetsInOrder) {
    asio::io_context io;
    Listener live(io);
    std::uint16_t dead = closed_tcp_port(io);
    std::string qname;
    FakeDns dns(io, [&](const std::string& q, int) {
        std::size_t end = 0;
        qname = detail::read_name(q, 12, end).value_or("?");
        return std::vector<std::string>{answer(q, {srv_rr(20, 0, live.port(), "127.0.0.1"), srv_rr(10, 0, dead, "127.0.0.1")})};
    });
    auto res = run_connect(io, "example.org", {std::nullopt, 1, dns.endpoint()});
    ASSERT_TRUE(res.called);
    ASSERT_TRUE(res.stream) << res.error;
    EXPECT_EQ(remote_port(res), live.port());
    EXPECT_EQ(qname, "_xmpp-client._tcp.example.org");
}

TEST(XmppConnectorLoop, IdnDomainIsQueriedAsALabels) {
    asio::io_context io;
    std::string qname;
    FakeDns dns(io, [&](const std::string& q, int) {
        std::size_t end = 0;
        qname = detail::read_name(q, 12, end).value_or("?");
        return std::vector<std::string>{answer(q, {srv_rr(0, 0, 0, ".")})};
    });
    auto res = run_connect(io, "b\xc3\xbc" "cher.example", {std::nullopt, 1, dns.endpoint()});
    EXPECT_EQ(qname, "_xmpp-client._tcp.xn--bcher-kva.example");
}

TEST(XmppConnectorLoop, RootTargetMeansNotOffered) {
    asio::io_context io;
    Listener fallback(io);
    FakeDns dns(io, [](const std::string& q, int) { return std::vector<std::string>{answer(q, {srv_rr(0, 0, 0, ".")})}; });
    auto res = run_connect(io, "localhost", {std::nullopt, fallback.port(), dns.endpoint()});
    ASSERT_TRUE(res.called);
    EXPECT_FALSE(res.stream);
    EXPECT_EQ(res.error, "xmpp service not offered for localhost (SRV target '.')");
    EXPECT_EQ(fallback.accepted, 0);
}

TEST(XmppConnectorLoop, RootTargetAmongOthersIsSkipped) {
    asio::io_context io;
    Listener live(io);
    FakeDns dns(io, [&](const std::string& q, int) {
        return std::vector<std::string>{answer(q, {srv_rr(0, 0, 0, "."), srv_rr(5, 0, live.port(), "127.0.0.1")})};
    });
    auto res = run_connect(io, "example.org", {std::nullopt, 1, dns.endpoint()});
    ASSERT_TRUE(res.stream) << res.error;
    EXPECT_EQ(remote_port(res), live.port());
}

TEST(XmppConnectorLoop, FallsBackWithoutSrv) {
    asio::io_context io;
    Listener fallback(io);
    FakeDns nx(io, [](const std::string& q, int) { return std::vector<std::string>{answer(q, {}, 0x8183)}; });
    auto res = run_connect(io, "localhost", {std::nullopt, fallback.port(), nx.endpoint()});
    ASSERT_TRUE(res.stream) << res.error;
    EXPECT_EQ(remote_port(res), fallback.port());

    FakeDns silent(io, [](const std::string&, int) { return std::vector<std::string>{}; });
    res = run_connect(io, "localhost", {std::nullopt, fallback.port(), silent.endpoint(), 200ms});
    ASSERT_TRUE(res.stream) << res.error;
    EXPECT_EQ(remote_port(res), fallback.port());
    EXPECT_EQ(silent.queries, 2);
}

TEST(XmppConnectorLoop, FailedTargetsDoNotFallBack) {
    asio::io_context io;
    Listener fallback(io);
    std::uint16_t dead = closed_tcp_port(io);
    FakeDns dns(io, [&](const std::string& q, int) { return std::vector<std::string>{answer(q, {srv_rr(1, 0, dead, "127.0.0.1")})}; });
    auto res = run_connect(io, "localhost", {std::nullopt, fallback.port(), dns.endpoint()});
    ASSERT_TRUE(res.called);
    EXPECT_FALSE(res.stream);
    EXPECT_NE(res.error.find("cannot connect to any SRV target of localhost"), std::string::npos) << res.error;
    EXPECT_EQ(fallback.accepted, 0);
}

TEST(XmppConnectorLoop, ConfiguredHostAndAddressesSkipSrv) {
    asio::io_context io;
    Listener live(io);
    FakeDns dns(io, [](const std::string& q, int) { return std::vector<std::string>{answer(q, {srv_rr(0, 0, 0, ".")})}; });
    auto res = run_connect(io, "example.org", {std::string("127.0.0.1"), live.port(), dns.endpoint()});
    ASSERT_TRUE(res.stream) << res.error;
    res = run_connect(io, "127.0.0.1", {std::nullopt, live.port(), dns.endpoint()});
    ASSERT_TRUE(res.stream) << res.error;
    res = run_connect(io, "localhost", {std::string(), live.port(), dns.endpoint()});  // "" is no host: SRV
    EXPECT_FALSE(res.stream);
    EXPECT_NE(res.error.find("not offered"), std::string::npos) << res.error;
    io.run_for(100ms);
    EXPECT_EQ(dns.queries, 1);
    EXPECT_EQ(live.accepted, 2);
}

TEST(XmppConnectorLoop, CancelSilencesTheHandler) {
    asio::io_context io;
    Listener live(io);
    FakeDns dns(io, [&](const std::string& q, int) {
        return std::vector<std::string>{answer(q, {srv_rr(1, 0, live.port(), "127.0.0.1")})};
    });
    int called = 0;
    auto handler = [&](Result<std::shared_ptr<TcpStream>>) { ++called; };
    auto during_srv = connect_xmpp(io, "example.org", std::nullopt, 1, handler, dns.endpoint());
    auto during_tcp = connect_xmpp(io, "example.org", "127.0.0.1", live.port(), handler);
    during_srv->cancel();
    during_tcp->cancel();
    io.run_for(300ms);
    EXPECT_EQ(called, 0);
}

TEST(XmppConnectorLoop, KeepsItselfAliveUntilDone) {
    asio::io_context io;
    Listener live(io);
    FakeDns dns(io, [&](const std::string& q, int) {
        return std::vector<std::string>{answer(q, {srv_rr(1, 0, live.port(), "127.0.0.1")})};
    });
    std::shared_ptr<TcpStream> stream;
    connect_xmpp(io, "example.org", std::nullopt, 1, [&](Result<std::shared_ptr<TcpStream>> s) {
        if (s) stream = std::move(s).value();
        io.stop();
    }, dns.endpoint());  // the returned pointer is dropped at once
    io.run_for(5s);
    EXPECT_TRUE(stream);
}

// ---- SrvLive: against dnsmasq (tests/integration/test_srv_lookup.py) -------

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (std::size_t next; (next = s.find(sep, pos)) != std::string::npos; pos = next + 1) out.push_back(s.substr(pos, next - pos));
    out.push_back(s.substr(pos));
    return out;
}

// "host:port" with the port last.
std::pair<std::string, std::uint16_t> host_port(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("not host:port: " + s);
    return {s.substr(0, colon), static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1)))};
}

class SrvLive : public ::testing::Test {
protected:
    void SetUp() override {
        auto dns = env("XPMN_TEST_DNS");
        if (!dns) GTEST_SKIP() << "XPMN_TEST_DNS not set (run by tests/integration/test_srv_lookup.py)";
        auto [host, port] = host_port(*dns);
        ns_ = udp::endpoint(asio::ip::make_address(host), port);
    }
    std::string need(const char* name) {
        auto v = env(name);
        if (!v) throw std::runtime_error(std::string(name) + " not set");
        return *v;
    }
    udp::endpoint ns_;
};

// XPMN_TEST_SRV_ORDERED="name=host:port:priority:weight,..." in expected order.
TEST_F(SrvLive, OrderedRecords) {
    auto spec = need("XPMN_TEST_SRV_ORDERED");
    auto eq = spec.find('=');
    ASSERT_NE(eq, std::string::npos);
    std::vector<SrvTarget> expect;
    for (const auto& item : split(spec.substr(eq + 1), ',')) {
        auto f = split(item, ':');
        ASSERT_EQ(f.size(), 4u) << item;
        expect.push_back({f[0], static_cast<std::uint16_t>(std::stoi(f[1])), static_cast<std::uint16_t>(std::stoi(f[2])),
                          static_cast<std::uint16_t>(std::stoi(f[3]))});
    }
    asio::io_context io;
    auto res = run_lookup(io, spec.substr(0, eq), ns_);
    ASSERT_TRUE(res.called);
    EXPECT_EQ(res.error, "");
    EXPECT_EQ(res.ordered, expect);
}

// XPMN_TEST_SRV_EMPTY="name,...": NXDOMAIN or NODATA.
TEST_F(SrvLive, NoRecordIsEmptyWithoutError) {
    for (const auto& name : split(need("XPMN_TEST_SRV_EMPTY"), ',')) {
        asio::io_context io;
        auto res = run_lookup(io, name, ns_);
        ASSERT_TRUE(res.called) << name;
        EXPECT_EQ(res.error, "") << name;
        EXPECT_TRUE(res.ordered.empty()) << name;
    }
}

// XPMN_TEST_SRV_DOT_DOMAIN=domain whose only SRV target is ".".
TEST_F(SrvLive, RootTargetNotOffered) {
    auto domain = need("XPMN_TEST_SRV_DOT_DOMAIN");
    asio::io_context io;
    auto res = run_connect(io, domain, {std::nullopt, kXmppClientPort, ns_});
    ASSERT_TRUE(res.called);
    EXPECT_FALSE(res.stream);
    EXPECT_NE(res.error.find("not offered"), std::string::npos) << res.error;
}

// XPMN_TEST_SRV_LIVE=domain:port: SRV targets a refused port first, then
// 127.0.0.1:port, where this test listens.
TEST_F(SrvLive, ConnectsToSrvTarget) {
    auto [domain, port] = host_port(need("XPMN_TEST_SRV_LIVE"));
    asio::io_context io;
    Listener live(io, port);
    auto res = run_connect(io, domain, {std::nullopt, closed_tcp_port(io), ns_});
    ASSERT_TRUE(res.stream) << res.error;
    EXPECT_EQ(remote_port(res), port);
    io.run_for(100ms);
    EXPECT_EQ(live.accepted, 1);
}

// XPMN_TEST_SRV_FALLBACK=domain:port: no SRV record; domain resolves to loopback.
TEST_F(SrvLive, FallsBackToDomainPort) {
    auto [domain, port] = host_port(need("XPMN_TEST_SRV_FALLBACK"));
    asio::io_context io;
    Listener fallback(io, port);
    auto res = run_connect(io, domain, {std::nullopt, port, ns_});
    ASSERT_TRUE(res.stream) << res.error;
    EXPECT_EQ(remote_port(res), port);
}

}  // namespace
