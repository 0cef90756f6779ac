// The S5B transport between two JingleManagers on an in-memory server, with
// real TCP on 127.0.0.1 for the candidates: direct connections both ways,
// the priority order and the 200 ms stagger past a candidate that never
// answers, every candidate failing (the IBB-fallback error), a proxy
// candidate through a small SOCKS5 proxy with <activate/> in the test, and
// malformed offers; assisted candidates from a port mapper (a fake router
// that "maps" 127.0.0.1's port to itself) and their release.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <optional>

#include "jingle_test_server.hpp"
#include "test_socks5_common.hpp"
#include "xmpp/core/stanza.hpp"
#include "xmpp/jingle/s5b_transport.hpp"
#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/jingle/socks5_server.hpp"

using namespace xpmn;
using namespace xpmn::jingle;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr const char* kPhone = "home@example.org/phone";
constexpr const char* kDevice = "home@example.org/upnp-3fa2c1d0";
constexpr const char* kProxyJid = "proxy.example.org";

// A XEP-0065 proxy for the test: SOCKS5 on 127.0.0.1, both connections of
// one DST.ADDR joined when the requester activates them over XMPP.
class TestProxy {
public:
    TestProxy(asio::io_context& io, client::StanzaRouter& router) : acceptor_(io, socks5_test::loopback_any_port()) {
        accept();
        router.on_iq("set", kBytestreamsNs, "query",
                     [this](const client::Peer&, const xml::Element& iq, client::IqResponder r) {
                         const auto* q = iq.child("query", kBytestreamsNs);
                         auto hash = socks5::dst_addr(q->attr_or("sid"), iq.attr_or("from"),
                                                      q->child_text("activate", kBytestreamsNs));
                         auto& pair = waiting_[hash];
                         if (refuse) return r.error("not-allowed", "activation refused by the test");
                         if (pair.size() != 2) return r.error("item-not-found", "not both connected");
                         join(pair[0], pair[1]);
                         join(pair[1], pair[0]);
                         ++activations;
                         r.result();
                     });
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    int activations = 0;
    bool refuse = false;

private:
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
            if (ec) return;
            handshakes_.push_back(socks5::ServerHandshake::run(
                std::move(s), [](const std::string&) { return true; }, socks5_test::kDeadline,
                [this](Result<socks5::ServerHandshake::Accepted> r) {
                    if (r) waiting_[r->dst_addr].push_back(r->stream);
                }));
            accept();
        });
    }
    static void join(const std::shared_ptr<net::TcpStream>& from, const std::shared_ptr<net::TcpStream>& to) {
        net::ByteStream::Handlers h;
        h.on_data = [to](std::string_view d) { to->write(std::string(d)); };
        h.on_closed = [to](const std::string&) { to->close(); };
        from->set_handlers(std::move(h));
        from->start();
    }
    tcp::acceptor acceptor_;
    std::vector<std::shared_ptr<socks5::ServerHandshake>> handshakes_;
    std::map<std::string, std::vector<std::shared_ptr<net::TcpStream>>> waiting_;
};

struct Outcome {
    std::optional<Result<net::ByteStreamPtr>> result;
    std::string received;
    int calls = 0;
};

struct S5bTest : ::testing::Test {
    asio::io_context io;
    jingletest::MemoryServer server{io};
    client::StanzaRouter& rphone = server.connect(kPhone);
    client::StanzaRouter& rdevice = server.connect(kDevice);
    client::StanzaRouter& rproxy = server.connect(kProxyJid);
    JingleManager phone{io, rphone, Jid::must_parse(kPhone)};
    JingleManager device{io, rdevice, Jid::must_parse(kDevice)};
    std::shared_ptr<S5bTransport> initiator, responder;
    Outcome at_initiator, at_responder;
    std::vector<std::string> infos;  // what went on the wire as transport-info, "from:element"

    static S5bOptions options(std::vector<std::string> addresses, std::vector<S5bStreamhost> proxies = {}) {
        S5bOptions o;
        o.addresses = std::move(addresses);
        o.proxies = std::move(proxies);
        o.attempt_deadline = std::chrono::milliseconds(60000);  // a test waiting for it would show
        o.connect_timeout = std::chrono::milliseconds(60000);
        return o;
    }
    // Offer, answer, accept, then connect both and run until both are done.
    void negotiate(S5bOptions phone_options, S5bOptions device_options) {
        prepare(std::move(phone_options), std::move(device_options));
        ASSERT_TRUE(initiator && responder);
        run_until([this] { return at_initiator.result && at_responder.result; });
    }
    // Offer, answer, accept, and both connecting.
    void prepare(S5bOptions phone_options, S5bOptions device_options) {
        auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), std::move(phone_options));
        ASSERT_TRUE(offered) << offered.error().describe();
        initiator = *offered;
        auto answered = S5bTransport::answer(device, Jid::must_parse(kPhone), initiator->element(),
                                             std::move(device_options));
        ASSERT_TRUE(answered) << answered.error().describe();
        responder = *answered;
        ASSERT_TRUE(initiator->accepted(responder->element()));
        wire(initiator, responder, "phone");
        wire(responder, initiator, "device");
        start(responder, at_responder);
        start(initiator, at_initiator);
    }
    void wire(std::shared_ptr<S5bTransport> from, std::shared_ptr<S5bTransport> to, std::string name) {
        std::weak_ptr<S5bTransport> weak = to;
        from->set_info_sender([this, weak, name](xml::Element e) {
            infos.push_back(name + ":" + e.first_element()->name());
            asio::post(io, [weak, e] {
                if (auto t = weak.lock()) {
                    EXPECT_TRUE(t->info(e)) << e.to_string();
                }
            });
        });
    }
    // The device answers an offer the test made and connects; runs until it nominated.
    std::vector<xml::Element> sent;
    void respond_to(const xml::Element& offer) {
        auto answered = S5bTransport::answer(device, Jid::must_parse(kPhone), offer, options({}));
        ASSERT_TRUE(answered) << answered.error().describe();
        responder = *answered;
        responder->set_info_sender([this](xml::Element e) { sent.push_back(e); });
        start(responder, at_responder);
        run_until([this] { return !sent.empty(); });
    }
    void start(const std::shared_ptr<S5bTransport>& t, Outcome& o) {
        t->connect([&o](Result<net::ByteStreamPtr> r) {
            ++o.calls;
            o.result.emplace(r);
            if (!r) return;
            net::ByteStream::Handlers h;
            h.on_data = [&o](std::string_view d) { o.received.append(d); };
            h.on_closed = [](const std::string&) {};
            (*r)->set_handlers(std::move(h));
            (*r)->start();
        });
    }
    void run_until(const std::function<bool()>& done) {
        io.restart();
        while (!done() && io.run_one() > 0) {
        }
    }
    // Bytes written on one side arrive on the other, both ways.
    void expect_data_flows() {
        ASSERT_TRUE(at_initiator.result && *at_initiator.result) << at_initiator.result->error().describe();
        ASSERT_TRUE(at_responder.result && *at_responder.result) << at_responder.result->error().describe();
        (**at_initiator.result)->write("ping");
        (**at_responder.result)->write("pong");
        run_until([this] { return at_initiator.received == "pong" && at_responder.received == "ping"; });
        EXPECT_EQ(at_responder.received, "ping");
        EXPECT_EQ(at_initiator.received, "pong");
        EXPECT_EQ(at_initiator.calls, 1);
        EXPECT_EQ(at_responder.calls, 1);
    }
    // Both sides end with the error that asks for the IBB fallback.
    void expect_both_fall_back() {
        ASSERT_TRUE(at_initiator.result && at_responder.result);
        ASSERT_FALSE(*at_initiator.result);
        ASSERT_FALSE(*at_responder.result);
        EXPECT_EQ(at_initiator.result->error().condition, kS5bUnusable);
        EXPECT_EQ(at_responder.result->error().condition, kS5bUnusable);
    }
    void TearDown() override {
        for (auto* o : {&at_initiator, &at_responder})
            if (o->result && *o->result) (**o->result)->abort();
        if (initiator) initiator->cancel();
        if (responder) responder->cancel();
        io.restart();
        io.poll();
    }
};

// A port on 127.0.0.1 with nothing listening: connections are refused.
std::uint16_t closed_port(asio::io_context& io) {
    tcp::acceptor a(io, socks5_test::loopback_any_port());
    return a.local_endpoint().port();
}

xml::Element offer_with(const std::vector<S5bCandidate>& candidates, std::string sid = "s5bsid01") {
    S5bElement e;
    e.sid = std::move(sid);
    e.candidates = candidates;
    return make_s5b(e);
}

TEST_F(S5bTest, DirectBothWaysTheInitiatorsNominationWinsOnEqualPriority) {
    negotiate(options({"127.0.0.1"}), options({"127.0.0.1"}));
    expect_data_flows();
    ASSERT_TRUE(initiator->chosen() && responder->chosen());
    EXPECT_EQ(initiator->chosen()->cid, responder->chosen()->cid);
    // The initiator nominated the responder's candidate; equal priorities → that one.
    EXPECT_EQ(initiator->chosen()->cid, responder->candidates().at(0).cid);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "phone:candidate-used"), 1);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "device:candidate-used"), 1);
}

TEST_F(S5bTest, OnlyTheInitiatorReachableTheResponderConnects) {
    negotiate(options({"127.0.0.1"}), options({}));
    expect_data_flows();
    EXPECT_EQ(initiator->chosen()->cid, initiator->candidates().at(0).cid);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "phone:candidate-error"), 1);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "device:candidate-used"), 1);
}

TEST_F(S5bTest, OnlyTheResponderReachableTheInitiatorConnects) {
    negotiate(options({}), options({"127.0.0.1"}));
    expect_data_flows();
    EXPECT_EQ(responder->chosen()->cid, responder->candidates().at(0).cid);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "device:candidate-error"), 1);
}

TEST_F(S5bTest, HigherPriorityNominationWinsOverTheInitiators) {
    // The responder's only candidate is a proxy (low priority); the
    // initiator's direct one is reached by the responder and wins.
    TestProxy proxy(io, rproxy);
    negotiate(options({"127.0.0.1"}), options({}, {{kProxyJid, "127.0.0.1", proxy.port()}}));
    expect_data_flows();
    EXPECT_EQ(initiator->chosen()->type, S5bType::Direct);
    EXPECT_EQ(responder->chosen()->cid, initiator->candidates().at(0).cid);
    EXPECT_EQ(proxy.activations, 0);
}

TEST_F(S5bTest, AllCandidatesFailingGivesTheFallbackError) {
    auto port = closed_port(io);
    // Candidates the peer cannot reach: proxies on a port where nothing listens.
    negotiate(options({}, {{kProxyJid, "127.0.0.1", port}}), options({}, {{kProxyJid, "127.0.0.1", port}}));
    expect_both_fall_back();
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "phone:candidate-error"), 1);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "device:candidate-error"), 1);
}

TEST_F(S5bTest, ProxyCandidateIsActivatedByTheSideThatOfferedIt) {
    TestProxy proxy(io, rproxy);
    negotiate(options({}, {{kProxyJid, "127.0.0.1", proxy.port()}}), options({}));
    expect_data_flows();
    EXPECT_EQ(proxy.activations, 1);
    EXPECT_EQ(initiator->chosen()->type, S5bType::Proxy);
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "phone:activated"), 1);
    // The offer carried the address hash for the proxy (XEP-0260 §2.2).
    EXPECT_EQ(initiator->element().attr_or("dstaddr"),
              socks5::dst_addr(initiator->sid(), kPhone, kDevice));
}

TEST_F(S5bTest, ProxyRefusingActivationGivesTheFallbackErrorOnBothSides) {
    TestProxy proxy(io, rproxy);
    proxy.refuse = true;
    negotiate(options({}, {{kProxyJid, "127.0.0.1", proxy.port()}}), options({}));
    expect_both_fall_back();
    EXPECT_EQ(std::count(infos.begin(), infos.end(), "phone:proxy-error"), 1);
}

// A peer (the test) offering two candidates: the better one accepts TCP but
// never answers SOCKS5, the second works. Its attempt starts 200 ms later and
// wins long before the first one's 60 s deadline.
TEST_F(S5bTest, CandidateThatNeverAnswersDoesNotHoldUpTheNextOne) {
    tcp::acceptor silent(io, socks5_test::loopback_any_port());  // never accepts: the kernel completes TCP
    std::vector<tcp::socket> silent_peers;
    tcp::acceptor working(io, socks5_test::loopback_any_port());
    const std::string sid = "s5bsid01";
    std::shared_ptr<socks5::ServerHandshake> hs;
    std::optional<Result<socks5::ServerHandshake::Accepted>> served;
    working.async_accept([&](const boost::system::error_code& ec, tcp::socket s) {
        ASSERT_FALSE(ec);
        auto want = socks5::dst_addr(sid, kPhone, kDevice);
        hs = socks5::ServerHandshake::run(
            std::move(s), [want](const std::string& a) { return a == want; }, socks5_test::kDeadline,
            [&](Result<socks5::ServerHandshake::Accepted> r) { served.emplace(std::move(r)); });
    });
    auto offer = offer_with({{"silent", "127.0.0.1", kPhone, silent.local_endpoint().port(),
                              s5b_priority(S5bType::Direct, 2), S5bType::Direct},
                             {"working", "127.0.0.1", kPhone, working.local_endpoint().port(),
                              s5b_priority(S5bType::Direct, 1), S5bType::Direct}},
                            sid);
    respond_to(offer);
    ASSERT_TRUE(responder);
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_TRUE(served && *served);
    auto used = parse_s5b(sent[0]);
    ASSERT_TRUE(used);
    EXPECT_EQ(used->kind, S5bElement::Kind::CandidateUsed);
    EXPECT_EQ(used->cid, "working");
    // The initiator (the test) had nothing to connect to.
    S5bElement error;
    error.sid = sid;
    error.kind = S5bElement::Kind::CandidateError;
    ASSERT_TRUE(responder->info(make_s5b(error)));
    run_until([&] { return at_responder.result.has_value(); });
    ASSERT_TRUE(*at_responder.result);
    EXPECT_EQ(responder->chosen()->cid, "working");
    (*served)->stream->abort();
}

TEST_F(S5bTest, CandidatesAreTriedInPriorityOrder) {
    // Both work; the higher priority one (listed second) is the one used.
    tcp::acceptor low(io, socks5_test::loopback_any_port()), high(io, socks5_test::loopback_any_port());
    std::vector<std::string> connected;
    std::vector<std::shared_ptr<socks5::ServerHandshake>> hs;
    auto serve = [&](tcp::acceptor& a, std::string name) {
        a.async_accept([&, name](const boost::system::error_code& ec, tcp::socket s) {
            if (ec) return;
            connected.push_back(name);
            hs.push_back(socks5::ServerHandshake::run(
                std::move(s), [](const std::string&) { return true; }, socks5_test::kDeadline,
                [](Result<socks5::ServerHandshake::Accepted> r) {
                    if (r) r->stream->abort();
                }));
        });
    };
    serve(low, "low");
    serve(high, "high");
    auto offer = offer_with({{"low", "127.0.0.1", kPhone, low.local_endpoint().port(),
                              s5b_priority(S5bType::Proxy, 1), S5bType::Direct},
                             {"high", "127.0.0.1", kPhone, high.local_endpoint().port(),
                              s5b_priority(S5bType::Direct, 1), S5bType::Direct}});
    respond_to(offer);
    ASSERT_TRUE(responder);
    ASSERT_FALSE(connected.empty());
    EXPECT_EQ(connected.front(), "high");
    auto used = parse_s5b(sent.at(0));
    ASSERT_TRUE(used);
    EXPECT_EQ(used->cid, "high");
}

TEST_F(S5bTest, BadOffersAreBadRequests) {
    S5bCandidate good{"c1", "127.0.0.1", kPhone, 1080, s5b_priority(S5bType::Direct, 1), S5bType::Direct};
    auto refused = [&](xml::Element offer) {
        auto r = S5bTransport::answer(device, Jid::must_parse(kPhone), offer, options({}));
        return !r && r.error().condition == "bad-request";
    };
    std::vector<S5bCandidate> many;
    for (int i = 0; i < 17; ++i) {
        many.push_back(good);
        many.back().cid = "c" + std::to_string(i);
    }
    EXPECT_TRUE(refused(offer_with(many)));
    auto c = good;
    c.host = std::string(300, 'a');
    EXPECT_TRUE(refused(offer_with({c})));
    EXPECT_TRUE(refused(offer_with({good, good})));  // duplicate cid
    auto raw = offer_with({good});
    raw.child("candidate", kS5bTransportNs)->set_attr("port", "70000");
    EXPECT_TRUE(refused(raw));
    raw = offer_with({good});
    raw.child("candidate", kS5bTransportNs)->set_attr("priority", "-1");
    EXPECT_TRUE(refused(raw));
    raw = offer_with({good});
    raw.child("candidate", kS5bTransportNs)->set_attr("type", "teleport");
    EXPECT_TRUE(refused(raw));
    raw = offer_with({good});
    raw.child("candidate", kS5bTransportNs)->set_attr("jid", "@@");
    EXPECT_TRUE(refused(raw));
    raw = offer_with({good});
    raw.remove_attr("sid");
    EXPECT_TRUE(refused(raw));
    raw = offer_with({good});
    raw.child("candidate", kS5bTransportNs)->remove_attr("cid");
    EXPECT_TRUE(refused(raw));
    // Assisted candidates from a peer are accepted (tried like direct ones).
    c = good;
    c.type = S5bType::Assisted;
    EXPECT_TRUE(S5bTransport::answer(device, Jid::must_parse(kPhone), offer_with({c}), options({})));
}

TEST_F(S5bTest, BadTransportInfoIsRefused) {
    negotiate(options({"127.0.0.1"}), options({"127.0.0.1"}));
    S5bElement used;
    used.sid = initiator->sid();
    used.kind = S5bElement::Kind::CandidateUsed;
    used.cid = "nosuchcid";
    EXPECT_FALSE(initiator->info(make_s5b(used)));
    used.sid = "othersid";
    EXPECT_EQ(initiator->info(make_s5b(used)).error().condition, "bad-request");
}

TEST_F(S5bTest, CancelClosesTheListeningSockets) {
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), options({"127.0.0.1"}));
    ASSERT_TRUE(offered);
    auto port = (*offered)->candidates().at(0).port;
    (*offered)->cancel();
    io.poll();
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_EQ(ec, asio::error::connection_refused);
}

// Through real Jingle sessions: the transport-info of both sides travels as
// Jingle transport-info through session_info_sender and on_transport_info.
TEST_F(S5bTest, OverJingleSessions) {
    constexpr const char* kApp = "urn:xmpp:jingle:apps:out-of-band:0";
    auto forward = [](std::weak_ptr<S5bTransport> t) {
        return [t](const Jingle& j) {
            auto transport = t.lock();
            ASSERT_TRUE(transport && !j.contents.empty() && j.contents[0].transport);
            EXPECT_TRUE(transport->info(*j.contents[0].transport));
        };
    };
    auto content = [](const std::shared_ptr<S5bTransport>& t) {
        Content c;
        c.name = "oob";
        c.description = xml::Element("description", kApp);
        c.transport = t->element();
        return c;
    };
    device.on_application(kApp, [&](SessionPtr s, const Jingle& j) {
        auto answered = S5bTransport::answer(device, s->peer().jid, *j.contents.at(0).transport, options({"127.0.0.1"}));
        ASSERT_TRUE(answered);
        responder = *answered;
        Session::Handlers h;
        h.on_transport_info = forward(responder);
        s->set_handlers(h);
        responder->set_info_sender(session_info_sender(s, j.contents.at(0)));
        s->accept({content(responder)});
        start(responder, at_responder);
    });
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), options({"127.0.0.1"}));
    ASSERT_TRUE(offered);
    initiator = *offered;
    Session::Handlers h;
    h.on_transport_info = forward(initiator);
    h.on_accepted = [&](const Jingle& j) {
        ASSERT_TRUE(initiator->accepted(*j.contents.at(0).transport));
        start(initiator, at_initiator);
    };
    auto session = phone.initiate(Jid::must_parse(kDevice), {content(initiator)}, h);
    initiator->set_info_sender(session_info_sender(session, content(initiator)));
    run_until([this] { return at_initiator.result && at_responder.result; });
    expect_data_flows();
}

TEST_F(S5bTest, CancelAfterTheOutcomeButBeforeItsCallbackMakesNoCallback) {
    prepare(options({"127.0.0.1"}), options({}));
    ASSERT_TRUE(initiator && responder);
    // The initiator knows the outcome once the responder's candidate-used is in.
    run_until([this] { return initiator->chosen().has_value(); });
    initiator->cancel();
    run_until([this] { return at_responder.result.has_value(); });
    io.restart();
    io.poll();
    EXPECT_EQ(at_initiator.calls, 0);
}

// A router for the tests: maps each listener's port to the same port on
// 127.0.0.1 (so connecting to the "external" address reaches the listener),
// answering at once, after a post, or never; counts what it still holds.
struct FakeRouter {
    enum class Answer { Now, Posted, Never };
    FakeRouter(Answer a, asio::io_context& c) : answer(a), io(c) {}
    Answer answer;
    asio::io_context& io;
    int mapped = 0, released = 0;
    std::vector<PortMapped> waiting;  // Answer::Never: answered by the test, if at all

    struct Mapping : PortMapping {
        Mapping(FakeRouter& r, std::uint16_t port) : PortMapping("127.0.0.1", port), router(r) { ++router.mapped; }
        ~Mapping() override { ++router.released; }
        FakeRouter& router;
    };
    MapPort map_port() {
        return [this](const std::string& address, std::uint16_t port, PortMapped done) {
            EXPECT_EQ(address, "127.0.0.1");
            if (answer == Answer::Never) return waiting.push_back(std::move(done));
            if (answer == Answer::Now) return done(std::make_unique<Mapping>(*this, port));
            asio::post(io, [this, port, done] { done(std::make_unique<Mapping>(*this, port)); });
        };
    }
    int held() const { return mapped - released; }
};

// The responder's candidates once its prepare() is done.
void prepare_and_wait(S5bTest& t, const std::shared_ptr<S5bTransport>& transport) {
    bool ready = false;
    transport->prepare([&ready] { ready = true; });
    t.run_until([&ready] { return ready; });
    ASSERT_TRUE(ready);
}

xml::Element without_direct(const xml::Element& transport) {
    auto parsed = parse_s5b(transport);
    EXPECT_TRUE(parsed);
    std::erase_if(parsed->candidates, [](const S5bCandidate& c) { return c.type == S5bType::Direct; });
    return make_s5b(*parsed);
}

TEST_F(S5bTest, AssistedCandidateIsOfferedUsedAndReleased) {
    FakeRouter router{FakeRouter::Answer::Posted, io};
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), options({}));
    ASSERT_TRUE(offered);
    initiator = *offered;
    auto device_options = options({"127.0.0.1"});
    device_options.map_port = router.map_port();
    auto answered = S5bTransport::answer(device, Jid::must_parse(kPhone), initiator->element(), device_options);
    ASSERT_TRUE(answered);
    responder = *answered;
    prepare_and_wait(*this, responder);
    ASSERT_EQ(responder->candidates().size(), 2u);
    const S5bCandidate direct = responder->candidates().at(0), assisted = responder->candidates().at(1);
    EXPECT_EQ(assisted.type, S5bType::Assisted);
    EXPECT_EQ(assisted.port, direct.port);
    EXPECT_NE(assisted.cid, direct.cid);
    EXPECT_EQ(assisted.priority, s5b_priority(S5bType::Assisted, 65535));
    // The phone cannot reach the direct one (it only sees the assisted one).
    ASSERT_TRUE(initiator->accepted(without_direct(responder->element())));
    wire(initiator, responder, "phone");
    wire(responder, initiator, "device");
    start(responder, at_responder);
    start(initiator, at_initiator);
    run_until([this] { return at_initiator.result && at_responder.result; });
    expect_data_flows();
    EXPECT_EQ(responder->chosen()->cid, assisted.cid);
    EXPECT_EQ(initiator->chosen()->type, S5bType::Assisted);
    // Held while the transport lives (the session), released when it ends.
    EXPECT_EQ(router.held(), 1);
    responder->cancel();
    EXPECT_EQ(router.held(), 0);
    EXPECT_EQ(router.mapped, 1);
}

TEST_F(S5bTest, MappingIsReleasedWhenTheTransportIsDestroyed) {
    FakeRouter router{FakeRouter::Answer::Now, io};
    auto o = options({"127.0.0.1"});
    o.map_port = router.map_port();
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), o);
    ASSERT_TRUE(offered);
    prepare_and_wait(*this, *offered);
    EXPECT_EQ((*offered)->candidates().size(), 2u);
    EXPECT_EQ(router.held(), 1);
    prepare_and_wait(*this, *offered);  // once per transport
    EXPECT_EQ(router.mapped, 1);
    EXPECT_EQ((*offered)->candidates().size(), 2u);
    offered->reset();
    EXPECT_EQ(router.held(), 0);
}

TEST_F(S5bTest, RouterThatNeverAnswersIsNotWaitedForBeyondTheTimeout) {
    FakeRouter router{FakeRouter::Answer::Never, io};
    auto o = options({"127.0.0.1"});
    o.map_port = router.map_port();
    o.map_timeout = std::chrono::milliseconds(50);
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), o);
    ASSERT_TRUE(offered);
    initiator = *offered;
    auto started = std::chrono::steady_clock::now();
    prepare_and_wait(*this, initiator);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    ASSERT_EQ(initiator->candidates().size(), 1u);  // the direct one only
    EXPECT_EQ(initiator->candidates().at(0).type, S5bType::Direct);
    // A mapping that comes too late is not offered, and is given back at once.
    ASSERT_EQ(router.waiting.size(), 1u);
    router.waiting.at(0)(std::make_unique<FakeRouter::Mapping>(router, 1234));
    EXPECT_EQ(router.mapped, 1);
    EXPECT_EQ(router.held(), 0);
    EXPECT_EQ(initiator->candidates().size(), 1u);
}

TEST_F(S5bTest, NoRouterMeansNoAssistedCandidateAndNoWait) {
    auto o = options({"127.0.0.1"});
    o.map_port = [](const std::string&, std::uint16_t, PortMapped done) { done(nullptr); };
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), o);
    ASSERT_TRUE(offered);
    bool ready = false;
    (*offered)->prepare([&ready] { ready = true; });
    EXPECT_TRUE(ready);  // answered at once: ready at once
    EXPECT_EQ((*offered)->candidates().size(), 1u);
}

TEST_F(S5bTest, WithoutAMapperPrepareIsReadyAtOnce) {
    auto offered = S5bTransport::offer(phone, Jid::must_parse(kDevice), options({"127.0.0.1"}));
    ASSERT_TRUE(offered);
    bool ready = false;
    (*offered)->prepare([&ready] { ready = true; });
    EXPECT_TRUE(ready);
}

}  // namespace
