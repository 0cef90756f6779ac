// NasFetcher against a libsoup file server inside the test, on 127.0.0.1:
// whole files and ranges byte-exact, the error mapping, the NAS's faults
// (stall, connection cut mid-body, redirects, a NAS ignoring Range), keep-
// alive, cancellation releasing the connection, and no read-ahead.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "bridge/relay/nas_fetch.hpp"
#include "soup_test_loop.hpp"

using namespace xpmn;
using namespace xpmn::relay;
using soup_test::Drain;
using soup_test::Loop;

namespace {

constexpr std::size_t kChunk = 64 * 1024;

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return s;
}

const std::string& small_file() {
    static const std::string s = pattern(300'000);
    return s;
}
const std::string& big_file() {  // larger than loopback socket buffers
    static const std::string s = pattern(32 * 1024 * 1024);
    return s;
}

// The fake NAS. Paths: /file, /big (ranges honoured), /norange (Range
// ignored), /stall and /cut (one chunk, then nothing / the connection shut),
// /hang (no headers ever), /redirect-same, /redirect-other, /redirect-loop,
// /chunked (no length), anything else 404. Bodies go out one 64 KiB chunk
// at a time, so `written` counts what the client has taken.
struct TestNas {
    int port = 0;
    SoupServer* server = nullptr;
    std::string other_origin;  // for /redirect-other
    int requests = 0;
    int aborted = 0;
    std::uint64_t written = 0;
    std::set<int> client_ports;
    std::vector<std::string> ranges;

    TestNas() {
        server = soup_test::loopback_server(&port);
        soup_server_add_handler(server, nullptr, handle, this, nullptr);
        g_signal_connect(server, "request-aborted", G_CALLBACK(+[](SoupServer*, SoupServerMessage*, gpointer self) {
                             ++static_cast<TestNas*>(self)->aborted;
                         }), this);
    }
    ~TestNas() {
        soup_server_disconnect(server);
        g_object_unref(server);
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }

    struct Body {
        TestNas* nas;
        const std::string* data;
        std::uint64_t pos, end;
        std::string mode;
    };

    static void handle(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
        auto* self = static_cast<TestNas*>(data);
        ++self->requests;
        GSocketAddress* remote = soup_server_message_get_remote_address(msg);
        self->client_ports.insert(g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(remote)));
        const std::string p = path;
        SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
        SoupMessageHeaders* resp = soup_server_message_get_response_headers(msg);
        const char* range_header = soup_message_headers_get_one(req, "Range");
        self->ranges.push_back(range_header ? range_header : "");
        if (p == "/redirect-same") return soup_server_message_set_redirect(msg, 302, "/file");
        if (p == "/redirect-loop") return soup_server_message_set_redirect(msg, 307, "/redirect-loop");
        if (p == "/redirect-other")
            return soup_server_message_set_redirect(msg, 302, (self->other_origin + "/file").c_str());
        if (p == "/hang") return soup_server_message_pause(msg);
        if (p == "/chunked") {
            soup_server_message_set_status(msg, 200, nullptr);
            soup_message_headers_set_encoding(resp, SOUP_ENCODING_CHUNKED);
            soup_message_body_append(soup_server_message_get_response_body(msg), SOUP_MEMORY_STATIC, "abc", 3);
            soup_message_body_complete(soup_server_message_get_response_body(msg));
            return;
        }
        const std::string* file = p == "/big" ? &big_file() : &small_file();
        if (p != "/file" && p != "/big" && p != "/norange" && p != "/stall" && p != "/cut" && p != "/quirky")
            return soup_server_message_set_status(msg, 404, nullptr);

        const std::uint64_t total = file->size();
        ByteSpan span{0, total - 1};
        soup_message_headers_set_content_type(resp, "audio/mpeg", nullptr);
        if (range_header && p != "/norange") {
            auto spec = parse_range(range_header);
            auto resolved = spec ? resolve_range(*spec, total) : Result<ByteSpan>(spec.error());
            if (p == "/quirky" && spec) {  // minidlna 1.3: 400 past the end, 416 for a `to` past the end
                if (spec->first >= total) return soup_server_message_set_status(msg, 400, nullptr);
                if (spec->last && *spec->last >= total) return soup_server_message_set_status(msg, 416, nullptr);
            }
            if (!resolved) {
                soup_message_headers_replace(resp, "Content-Range", format_unsatisfied_range(total).c_str());
                return soup_server_message_set_status(msg, 416, nullptr);
            }
            span = *resolved;
            if (p == "/quirky" && spec->last == 0u) span.last = total - 1;  // "-0" taken as "to the end"
            soup_server_message_set_status(msg, 206, nullptr);
            soup_message_headers_replace(resp, "Content-Range", format_content_range(span, total).c_str());
        } else {
            soup_server_message_set_status(msg, 200, nullptr);
        }
        soup_message_headers_set_content_length(resp, static_cast<goffset>(span.size()));
        SoupMessageBody* body = soup_server_message_get_response_body(msg);
        soup_message_body_set_accumulate(body, FALSE);
        auto* b = new Body{self, file, span.first, span.last + 1, p};
        g_signal_connect_data(msg, "wrote-chunk", G_CALLBACK(wrote_chunk), b,
                              [](gpointer d, GClosure*) { delete static_cast<Body*>(d); }, GConnectFlags(0));
        append(msg, b);
    }

    static void append(SoupServerMessage* msg, Body* b) {
        SoupMessageBody* body = soup_server_message_get_response_body(msg);
        const std::uint64_t n = std::min<std::uint64_t>(kChunk, b->end - b->pos);
        soup_message_body_append(body, SOUP_MEMORY_STATIC, b->data->data() + b->pos, n);
        b->pos += n;
        b->nas->written += n;
        if (b->pos == b->end) soup_message_body_complete(body);
    }

    static void wrote_chunk(SoupServerMessage* msg, gpointer data) {
        auto* b = static_cast<Body*>(data);
        if (b->pos == b->end) return;
        if (b->mode == "/stall") return;  // never more: the client's read times out
        if (b->mode == "/cut") {
            g_socket_shutdown(soup_server_message_get_socket(msg), TRUE, TRUE, nullptr);
            return;
        }
        append(msg, b);
        soup_server_message_unpause(msg);
    }
};

struct Opened {
    std::optional<Result<NasBody>> result;
    bool done() const { return result.has_value(); }
};

class NasFetchTest : public ::testing::Test {
protected:
    Loop loop;
    TestNas nas;
    NasFetcher fetcher;
    NasFetcher impatient{NasFetcher::Options{1}};  // 1 s: the timeout tests end soon

    void SetUp() override { big_file(); }  // made before the server must answer quickly

    NasBody open_ok(const std::string& path, std::optional<RangeSpec> range = std::nullopt,
                    NasFetcher* via = nullptr) {
        Opened o;
        (via ? via : &fetcher)->open(nas.url(path), range, [&](Result<NasBody> r) { o.result.emplace(std::move(r)); });
        EXPECT_FALSE(o.done()) << "the handler ran inside open()";
        EXPECT_TRUE(loop.run_until([&] { return o.done(); }));
        if (!o.result || !*o.result) {
            ADD_FAILURE() << path << ": " << (o.result ? o.result->error().describe() : "no answer");
            return NasBody{};
        }
        return std::move(o.result->value());
    }
    Error open_fails(const std::string& url, std::optional<RangeSpec> range = std::nullopt,
                     NasFetcher* via = nullptr) {
        Opened o;
        (via ? via : &fetcher)->open(url, range, [&](Result<NasBody> r) { o.result.emplace(std::move(r)); });
        EXPECT_TRUE(loop.run_until([&] { return o.done(); }));
        if (!o.result) return Error{"no answer", ""};
        if (*o.result) return Error{"unexpected success", ""};
        return o.result->error();
    }
    Drain read_all(NasBody& body, std::size_t piece = 65536) {
        Drain d;
        d.start(*body.source, piece);
        EXPECT_TRUE(loop.run_until([&] { return d.ended; }));
        return d;
    }
};

}  // namespace

TEST_F(NasFetchTest, WholeFileArrivesByteExact) {
    NasBody body = open_ok("/file");
    ASSERT_TRUE(body.source);
    EXPECT_EQ(body.size, small_file().size());
    EXPECT_EQ(body.total, small_file().size());
    EXPECT_EQ(body.type, "audio/mpeg");
    Drain d = read_all(body);
    EXPECT_FALSE(d.error) << d.error->describe();
    EXPECT_EQ(d.data, small_file());
    EXPECT_EQ(nas.ranges.back(), "");  // no Range for a whole file
}

TEST_F(NasFetchTest, RangesAtStartMiddleEndAndASingleByte) {
    const auto& f = small_file();
    struct Case {
        RangeSpec range;
        std::size_t first, size;
    };
    for (const Case& c : {Case{RangeSpec::from_to(0, 999), 0, 1000}, Case{RangeSpec::from_to(64537, 99999), 64537, 35463},
                          Case{RangeSpec::from_to(f.size() - 10), f.size() - 10, 10},
                          Case{RangeSpec::from_to(5, 5), 5, 1}, Case{RangeSpec::from_to(f.size() - 1, f.size() - 1), f.size() - 1, 1},
                          Case{RangeSpec::from_to(100, 10'000'000), 100, f.size() - 100}}) {
        NasBody body = open_ok("/file", c.range);
        ASSERT_TRUE(body.source) << format_range(c.range);
        EXPECT_EQ(nas.ranges.back(), format_range(c.range));
        EXPECT_EQ(body.size, c.size) << format_range(c.range);
        EXPECT_EQ(body.total, f.size());
        Drain d = read_all(body, 4096);
        EXPECT_FALSE(d.error);
        EXPECT_EQ(d.data, f.substr(c.first, c.size)) << format_range(c.range);
    }
}

TEST_F(NasFetchTest, ErrorsMapToTheWireConditions) {
    EXPECT_EQ(open_fails(nas.url("/nothing-here")).condition, "item-not-found");
    Error past = open_fails(nas.url("/file"), RangeSpec::from_to(small_file().size()));
    EXPECT_EQ(past.condition, kRangeNotSatisfiable);
    EXPECT_NE(past.text.find(std::to_string(small_file().size())), std::string::npos) << past.text;
    EXPECT_EQ(open_fails(nas.url("/chunked")).condition, "undefined-condition");  // no length
    EXPECT_EQ(open_fails("ftp://127.0.0.1/x").condition, "undefined-condition");
}

TEST_F(NasFetchTest, AClosedPortIsRemoteServerNotFound) {
    int port = 0;
    {
        SoupServer* gone = soup_test::loopback_server(&port);
        soup_server_disconnect(gone);
        g_object_unref(gone);
    }
    EXPECT_EQ(open_fails("http://127.0.0.1:" + std::to_string(port) + "/file").condition, "remote-server-not-found");
}

TEST_F(NasFetchTest, ANasThatNeverAnswersIsRemoteServerTimeout) {
    EXPECT_EQ(open_fails(nas.url("/hang"), std::nullopt, &impatient).condition, "remote-server-timeout");
}

TEST_F(NasFetchTest, AStallMidBodyEndsTheSourceWithRemoteServerTimeout) {
    NasBody body = open_ok("/stall", std::nullopt, &impatient);
    ASSERT_TRUE(body.source);
    Drain d = read_all(body);
    ASSERT_TRUE(d.error);
    EXPECT_EQ(d.error->condition, "remote-server-timeout");
    EXPECT_EQ(d.data, small_file().substr(0, kChunk));  // what came before the stall was delivered
}

TEST_F(NasFetchTest, AConnectionCutMidBodyEndsTheSourceWithAnError) {
    NasBody body = open_ok("/cut");
    ASSERT_TRUE(body.source);
    Drain d = read_all(body);
    ASSERT_TRUE(d.error);
    EXPECT_EQ(d.error->condition, "remote-server-not-found") << d.error->describe();
    EXPECT_LT(d.data.size(), small_file().size());
}

TEST_F(NasFetchTest, FollowsARedirectToTheSameHostAndPort) {
    NasBody body = open_ok("/redirect-same", RangeSpec::from_to(10, 19));
    ASSERT_TRUE(body.source);
    EXPECT_EQ(read_all(body).data, small_file().substr(10, 10));
    EXPECT_EQ(nas.ranges.back(), "bytes=10-19");
}

TEST_F(NasFetchTest, RefusesARedirectToAnotherPort) {
    TestNas other;
    nas.other_origin = "http://127.0.0.1:" + std::to_string(other.port);
    Error e = open_fails(nas.url("/redirect-other"));
    EXPECT_EQ(e.condition, "not-allowed");
    EXPECT_NE(e.text.find(std::to_string(other.port)), std::string::npos) << e.text;
    EXPECT_EQ(other.requests, 0);
}

TEST_F(NasFetchTest, ARedirectLoopEnds) {
    EXPECT_EQ(open_fails(nas.url("/redirect-loop")).condition, "undefined-condition");
    EXPECT_EQ(nas.requests, NasFetcher::kMaxRedirects + 1);
}

TEST_F(NasFetchTest, ANasIgnoringRangeStillYieldsExactlyTheRange) {
    NasBody body = open_ok("/norange", RangeSpec::from_to(70'000, 70'999));
    ASSERT_TRUE(body.source);
    EXPECT_EQ(body.size, 1000u);
    EXPECT_EQ(body.total, small_file().size());
    Drain d = read_all(body);
    EXPECT_FALSE(d.error);
    EXPECT_EQ(d.data, small_file().substr(70'000, 1000));
    // The tail of the file is the rest of the 200 body: reading its end.
    NasBody tail = open_ok("/norange", RangeSpec::from_to(small_file().size() - 5));
    EXPECT_EQ(read_all(tail).data, small_file().substr(small_file().size() - 5));
}

TEST_F(NasFetchTest, MinidlnasRangeQuirksStillYieldTheRange) {
    const auto& f = small_file();
    NasBody first = open_ok("/quirky", RangeSpec::from_to(0, 0));  // answered with the whole file
    EXPECT_EQ(first.size, 1u);
    EXPECT_EQ(read_all(first).data, f.substr(0, 1));
    NasBody tail = open_ok("/quirky", RangeSpec::from_to(f.size() - 10, f.size() + 100));  // 416, then `from-`
    EXPECT_EQ(tail.size, 10u);
    EXPECT_EQ(read_all(tail).data, f.substr(f.size() - 10));
    EXPECT_EQ(nas.ranges.back(), "bytes=" + std::to_string(f.size() - 10) + "-");
    EXPECT_EQ(open_fails(nas.url("/quirky"), RangeSpec::from_to(f.size())).condition, kRangeNotSatisfiable);  // 400, then whole
    EXPECT_EQ(nas.ranges.back(), "");
}

TEST_F(NasFetchTest, ConsecutiveFetchesReuseTheConnection) {
    for (int i = 0; i < 3; ++i) {
        NasBody body = open_ok("/file", RangeSpec::from_to(i * 100, i * 100 + 99));
        ASSERT_TRUE(body.source);
        EXPECT_EQ(read_all(body).data, small_file().substr(i * 100, 100));
    }
    EXPECT_EQ(nas.client_ports.size(), 1u);
}

TEST_F(NasFetchTest, CancelReleasesTheConnectionAndNoCallbackFollows) {
    NasBody body = open_ok("/big");
    ASSERT_TRUE(body.source);
    bool called = false;
    body.source->read(kChunk, [&](Result<std::string>) { called = true; });
    body.source->cancel();
    EXPECT_TRUE(loop.run_until([&] { return nas.aborted == 1; }));
    EXPECT_FALSE(called);
    EXPECT_LT(nas.written, big_file().size());  // the rest was not drained to keep the connection
    // A new fetch needs (and gets) another connection.
    NasBody again = open_ok("/file", RangeSpec::from_to(0, 9));
    EXPECT_EQ(read_all(again).data, small_file().substr(0, 10));
    EXPECT_EQ(nas.client_ports.size(), 2u);
}

TEST_F(NasFetchTest, DroppingTheSourceReleasesTheConnection) {
    {
        NasBody body = open_ok("/big");
        ASSERT_TRUE(body.source);
        bool got = false;
        body.source->read(kChunk, [&](Result<std::string> r) { got = r.ok(); });
        ASSERT_TRUE(loop.run_until([&] { return got; }));
    }
    EXPECT_TRUE(loop.run_until([&] { return nas.aborted == 1; }));
    EXPECT_LT(nas.written, big_file().size());
}

TEST_F(NasFetchTest, AReaderThatStopsMakesTheRelayStopReading) {
    NasBody body = open_ok("/big");
    ASSERT_TRUE(body.source);
    bool got = false;
    body.source->read(kChunk, [&](Result<std::string> r) { got = r.ok() && !r->empty(); });
    ASSERT_TRUE(loop.run_until([&] { return got; }));
    loop.run_for(std::chrono::milliseconds(500));
    // Only what the socket buffers hold has left the NAS, not the 32 MiB.
    EXPECT_LT(nas.written, big_file().size() / 2);
}

TEST_F(NasFetchTest, DestroyingTheFetcherDropsRequestsInFlight) {
    bool called = false;
    {
        NasFetcher short_lived;
        short_lived.open(nas.url("/hang"), std::nullopt, [&](Result<NasBody>) { called = true; });
        ASSERT_TRUE(loop.run_until([&] { return nas.requests == 1; }));
    }
    loop.run_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(called);
}
