// RangeServer (`xpmn serve`) with a fake opener and real libsoup client
// requests on 127.0.0.1: HEAD, whole bodies, ranges (suffix included), 416
// with the total, 404/502, loopback-only Host, a player that disconnects
// (its source is cancelled) and one that stops reading (no read-ahead).
// The LAN binding (a renderer's) on loopback aliases: its own address only,
// and only the admitted peer.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "soup_test_loop.hpp"
#include "controller/range_server.hpp"

using namespace xpmn;
using relay::RangeSpec;
using soup_test::Loop;
using controller::RangeServer;
using controller::ServedBody;

namespace {

const std::string kUri = "xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=64%243%242";

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 13 + i / 509) & 0xff);
    return s;
}

struct SourceStats {
    int reads = 0;
    int outstanding = 0, max_outstanding = 0;
    bool cancelled = false;
    bool ended = false;
};

// Serves `data[first, first+size)` from the loop, one read at a time.
class FakeSource : public oob::Source {
public:
    FakeSource(boost::asio::io_context& io, const std::string& data, std::uint64_t first, std::uint64_t size,
               std::shared_ptr<SourceStats> stats)
        : io_(io), data_(data), pos_(first), end_(first + size), stats_(std::move(stats)), alive_(std::make_shared<bool>(true)) {}
    ~FakeSource() override { *alive_ = false; }

    void read(std::size_t max, ReadHandler done) override {
        ++stats_->reads;
        stats_->max_outstanding = std::max(stats_->max_outstanding, ++stats_->outstanding);
        boost::asio::post(io_, [this, alive = alive_, max, done = std::move(done)] {
            if (!*alive || stats_->cancelled) return;
            --stats_->outstanding;
            const std::uint64_t n = std::min<std::uint64_t>(max, end_ - pos_);
            if (n == 0) stats_->ended = true;
            std::string piece = data_.substr(pos_, n);
            pos_ += n;
            done(std::move(piece));
        });
    }
    void cancel() override { stats_->cancelled = true; }

private:
    boost::asio::io_context& io_;
    const std::string& data_;
    std::uint64_t pos_, end_;
    std::shared_ptr<SourceStats> stats_;
    std::shared_ptr<bool> alive_;
};

struct Response {
    unsigned status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
    bool done = false;
};

class RangeServerTest : public ::testing::Test {
protected:
    Loop loop;
    std::string data = pattern(1'000'000);
    std::vector<std::pair<std::string, std::optional<RangeSpec>>> calls;
    std::vector<std::shared_ptr<SourceStats>> stats;
    std::unique_ptr<RangeServer> server;
    SoupSession* client = nullptr;

    void SetUp() override { start_server(); client = soup_session_new(); }
    void TearDown() override { g_object_unref(client); }

    void start_server(std::optional<RangeServer::LanBinding> lan = std::nullopt) {
        auto opener = [this](const std::string& uri, std::optional<RangeSpec> range, RangeServer::OpenHandler done) {
            calls.emplace_back(uri, range);
            boost::asio::post(loop.io, [this, uri, range, done = std::move(done)] {
                if (uri == "xmpp:gone") return done(Error{"item-not-found", "no such item"});
                if (uri != kUri) return done(Error{"remote-server-not-found", "the NAS is off"});
                relay::ByteSpan span{0, data.size() - 1};
                if (range) {
                    EXPECT_FALSE(range->suffix) << "the opener never gets a suffix range";
                    auto r = relay::resolve_range(*range, data.size());
                    if (!r) return done(r.error());
                    span = *r;
                }
                stats.push_back(std::make_shared<SourceStats>());
                done(ServedBody{data.size(), "audio/mpeg", span.size(),
                                std::make_unique<FakeSource>(loop.io, data, span.first, span.size(), stats.back())});
            });
        };
        server = lan ? std::make_unique<RangeServer>(opener, std::move(*lan)) : std::make_unique<RangeServer>(opener);
    }

    // A client whose requests come from `address` (a loopback alias here).
    static SoupSession* client_from(const char* address) {
        GInetAddress* inet = g_inet_address_new_from_string(address);
        GSocketAddress* local = g_inet_socket_address_new(inet, 0);
        SoupSession* session = soup_session_new_with_options("local-address", local, nullptr);
        g_object_unref(local);
        g_object_unref(inet);
        return session;
    }

    Response request(const std::string& method, const std::string& url, const char* range = nullptr,
                     const char* host = nullptr, bool may_fail = false) {
        SoupMessage* msg = soup_message_new(method.c_str(), url.c_str());
        if (range) soup_message_headers_replace(soup_message_get_request_headers(msg), "Range", range);
        if (host) soup_message_headers_replace(soup_message_get_request_headers(msg), "Host", host);
        Response out;
        struct Ctx {
            Response* out;
            SoupMessage* msg;
            bool may_fail;
        } ctx{&out, msg, may_fail};
        soup_session_send_and_read_async(
            client, msg, G_PRIORITY_DEFAULT, nullptr,
            [](GObject* session, GAsyncResult* result, gpointer data) {
                auto* c = static_cast<Ctx*>(data);
                GError* error = nullptr;
                GBytes* bytes = soup_session_send_and_read_finish(SOUP_SESSION(session), result, &error);
                if (bytes) {
                    gsize n = 0;
                    const char* p = static_cast<const char*>(g_bytes_get_data(bytes, &n));
                    c->out->body.assign(p ? p : "", n);
                    g_bytes_unref(bytes);
                } else {
                    if (!c->may_fail) ADD_FAILURE() << error->message;
                    g_error_free(error);
                }
                c->out->status = soup_message_get_status(c->msg);
                SoupMessageHeadersIter it;
                soup_message_headers_iter_init(&it, soup_message_get_response_headers(c->msg));
                const char *name, *value;
                while (soup_message_headers_iter_next(&it, &name, &value)) c->out->headers[name] = value;
                c->out->done = true;
            },
            &ctx);
        EXPECT_TRUE(loop.run_until([&] { return out.done; }));
        g_object_unref(msg);
        return out;
    }
};

}  // namespace

TEST_F(RangeServerTest, UrlCarriesTheWholeUriInItsPath) {
    const std::string url = server->url_for(kUri);
    const std::string prefix = "http://127.0.0.1:" + std::to_string(server->port()) + "/";
    ASSERT_EQ(url.rfind(prefix, 0), 0u) << url;
    EXPECT_EQ(url.substr(prefix.size()).find_first_of("/?;:"), std::string::npos) << url;
    Response r = request("GET", url, "bytes=0-0");
    EXPECT_EQ(r.status, 206u);
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.front().first, kUri);
}

TEST_F(RangeServerTest, HeadGivesLengthTypeAndRangesWithoutABody) {
    Response r = request("HEAD", server->url_for(kUri));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.headers["Content-Length"], std::to_string(data.size()));
    EXPECT_EQ(r.headers["Accept-Ranges"], "bytes");
    EXPECT_EQ(r.headers["Content-Type"], "audio/mpeg");
    EXPECT_TRUE(r.body.empty());
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_TRUE(stats[0]->cancelled);
    EXPECT_EQ(stats[0]->reads, 0);
}

TEST_F(RangeServerTest, GetWithoutRangeIsTheWholeBody) {
    Response r = request("GET", server->url_for(kUri));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, data);
    EXPECT_EQ(r.headers.count("Content-Range"), 0u);
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_TRUE(loop.run_until([&] { return stats[0]->ended; }));  // read to its end
    EXPECT_EQ(stats[0]->max_outstanding, 1);
}

TEST_F(RangeServerTest, RangesGive206WithContentRange) {
    const std::string total = "/" + std::to_string(data.size());
    struct Case {
        const char* header;
        std::size_t first, size;
    };
    for (const Case& c : {Case{"bytes=0-0", 0, 1}, Case{"bytes=500000-", 500000, 500000}, Case{"bytes=999999-999999", 999999, 1},
                          Case{"bytes=100-199", 100, 100}, Case{"bytes=-10", 999990, 10}, Case{"bytes=10-5000000", 10, 999990}}) {
        Response r = request("GET", server->url_for(kUri), c.header);
        EXPECT_EQ(r.status, 206u) << c.header;
        EXPECT_EQ(r.body, data.substr(c.first, c.size)) << c.header;
        EXPECT_EQ(r.headers["Content-Range"],
                  "bytes " + std::to_string(c.first) + "-" + std::to_string(c.first + c.size - 1) + total)
            << c.header;
    }
}

TEST_F(RangeServerTest, ARangeOutsideTheResourceIs416WithTheTotal) {
    for (const char* h : {"bytes=1000000-", "bytes=2000000-2000001"}) {
        Response r = request("GET", server->url_for(kUri), h);
        EXPECT_EQ(r.status, 416u) << h;
        EXPECT_EQ(r.headers["Content-Range"], "bytes */" + std::to_string(data.size())) << h;
    }
    for (const auto& s : stats) EXPECT_TRUE(s->cancelled);  // the probes for the total
}

TEST_F(RangeServerTest, AnInvalidRangeIsIgnored) {
    Response r = request("GET", server->url_for(kUri), "bytes=9-1");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body.size(), data.size());
}

TEST_F(RangeServerTest, OpenerErrorsBecome404And502) {
    EXPECT_EQ(request("GET", server->url_for("xmpp:gone")).status, 404u);
    Response r = request("GET", server->url_for("xmpp:elsewhere"));
    EXPECT_EQ(r.status, 502u);
    EXPECT_NE(r.body.find("the NAS is off"), std::string::npos);
    EXPECT_EQ(request("GET", "http://127.0.0.1:" + std::to_string(server->port()) + "/").status, 404u);
    EXPECT_EQ(request("POST", server->url_for(kUri)).status, 405u);
}

TEST_F(RangeServerTest, AForeignHostNameIsRefused) {
    const std::string port = std::to_string(server->port());
    EXPECT_EQ(request("GET", server->url_for(kUri), "bytes=0-0", ("rebind.example:" + port).c_str()).status, 403u);
    EXPECT_TRUE(calls.empty());
    EXPECT_EQ(request("GET", server->url_for(kUri), "bytes=0-0", ("localhost:" + port).c_str()).status, 206u);
}

TEST_F(RangeServerTest, APlayerThatStopsReadingStopsTheSource) {
    const std::string big = pattern(64 * 1024 * 1024);
    data = big;
    SoupMessage* msg = soup_message_new("GET", server->url_for(kUri).c_str());
    GInputStream* body = nullptr;
    soup_session_send_async(
        client, msg, G_PRIORITY_DEFAULT, nullptr,
        [](GObject* s, GAsyncResult* res, gpointer out) {
            *static_cast<GInputStream**>(out) = soup_session_send_finish(SOUP_SESSION(s), res, nullptr);
        },
        &body);
    ASSERT_TRUE(loop.run_until([&] { return body != nullptr; }));
    loop.run_for(std::chrono::milliseconds(500));  // the player reads nothing meanwhile
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_LT(stats[0]->reads, 512) << stats[0]->reads;  // socket buffers' worth, not the 1024 chunks of the file
    EXPECT_EQ(stats[0]->max_outstanding, 1);
    EXPECT_FALSE(stats[0]->cancelled);

    // The player goes away: the source is cancelled.
    g_object_unref(body);
    g_object_unref(msg);
    soup_session_abort(client);
    EXPECT_TRUE(loop.run_until([&] { return stats[0]->cancelled; }));
}

TEST_F(RangeServerTest, DestroyingTheServerCancelsSourcesInFlight) {
    SoupMessage* msg = soup_message_new("GET", server->url_for(kUri).c_str());
    GInputStream* body = nullptr;
    const std::string big = pattern(64 * 1024 * 1024);
    data = big;
    soup_session_send_async(
        client, msg, G_PRIORITY_DEFAULT, nullptr,
        [](GObject* s, GAsyncResult* res, gpointer out) {
            *static_cast<GInputStream**>(out) = soup_session_send_finish(SOUP_SESSION(s), res, nullptr);
        },
        &body);
    ASSERT_TRUE(loop.run_until([&] { return body != nullptr; }));
    server.reset();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_TRUE(stats[0]->cancelled);
    g_object_unref(body);
    g_object_unref(msg);
    soup_session_abort(client);
    loop.run_for(std::chrono::milliseconds(50));
}

// A renderer's server: bound to one address (127.0.0.2 standing for the
// bridge's LAN address), serving the admitted peer (127.0.0.3) only.
TEST_F(RangeServerTest, ALanBindingServesOnlyTheAdmittedPeerAndItsOwnAddress) {
    std::vector<std::pair<std::string, std::string>> asked;
    start_server(RangeServer::LanBinding{"127.0.0.2", [&](const std::string& uri, const std::string& peer) {
                                             asked.emplace_back(uri, peer);
                                             return uri == kUri && peer == "127.0.0.3";
                                         }});
    const std::string url = server->url_for(kUri);
    const std::string port = std::to_string(server->port());
    ASSERT_EQ(url.rfind("http://127.0.0.2:" + port + "/", 0), 0u) << url;

    g_object_unref(client);
    client = client_from("127.0.0.4");  // another host of the network
    EXPECT_EQ(request("GET", url, "bytes=0-0").status, 403u);
    EXPECT_TRUE(calls.empty());
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0], std::make_pair(kUri, std::string("127.0.0.4")));

    g_object_unref(client);
    client = client_from("127.0.0.3");  // the renderer
    Response r = request("GET", url, "bytes=10-19");
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.body, data.substr(10, 10));
    EXPECT_EQ(r.headers["Content-Range"], "bytes 10-19/" + std::to_string(data.size()));
    // Its Host must be the bound address: a loopback name is a rebinding attempt here.
    EXPECT_EQ(request("GET", url, "bytes=0-0", ("localhost:" + port).c_str()).status, 403u);
    EXPECT_EQ(calls.size(), 1u);
    // Nothing else listens: the loopback address has no such server.
    EXPECT_EQ(request("GET", "http://127.0.0.1:" + port + "/x", nullptr, nullptr, true).status, 0u);
}

TEST_F(RangeServerTest, ALanBindingNeedsAnAddress) {
    auto admit_all = [](const std::string&, const std::string&) { return true; };
    EXPECT_THROW(RangeServer([](auto, auto, auto) {}, RangeServer::LanBinding{"renderer.example", admit_all}),
                 std::runtime_error);
}
