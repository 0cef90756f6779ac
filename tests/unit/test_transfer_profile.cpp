// Transfer profile (wire profile §6.1): request parsing, the §6.1 errors and
// the handoff of the opened source to the peer's out-of-band session.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "bridge/access_policy.hpp"
#include "bridge/profiles/directory_profile.hpp"
#include "bridge/profiles/transfer_profile.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using profiles::TransferRequest;

namespace {

xml::Element transfer(std::initializer_list<std::pair<const char*, const char*>> attrs) {
    xml::Element e("transfer", profiles::ns_server);
    for (auto [k, v] : attrs) e.set_attr(k, v);
    return e;
}

bool bad(const Result<TransferRequest>& r) {
    return !r.ok() && r.error().condition == "bad-request" && !r.error().text.empty();
}

TEST(TransferProfile, ParsesUidAndInclusiveRange) {
    auto r = profiles::parse_transfer(transfer({{"uid", "64$3$2"}, {"from", "64537"}, {"to", "99999"}})).value();
    EXPECT_EQ(r.uid, "64$3$2");
    EXPECT_EQ(r.from, 64537u);
    EXPECT_EQ(r.to, 99999u);
    auto whole = profiles::parse_transfer(transfer({{"uid", "x"}})).value();
    EXPECT_FALSE(whole.from);
    EXPECT_FALSE(whole.to);
    auto single = profiles::parse_transfer(transfer({{"uid", "x"}, {"from", "7"}, {"to", "7"}})).value();
    EXPECT_EQ(single.from, 7u);
    auto big = profiles::parse_transfer(transfer({{"uid", "x"}, {"from", "18446744073709551615"}})).value();
    EXPECT_EQ(big.from, 18446744073709551615u);
}

TEST(TransferProfile, RejectsBadRequests) {
    EXPECT_TRUE(bad(profiles::parse_transfer(transfer({}))));
    EXPECT_TRUE(bad(profiles::parse_transfer(transfer({{"uid", ""}}))));
    std::string long_uid(1025, 'u');
    EXPECT_TRUE(bad(profiles::parse_transfer(transfer({{"uid", long_uid.c_str()}}))));
    for (const char* v : {"-1", "", "x", "1.5", "18446744073709551616", " 1"})
        EXPECT_TRUE(bad(profiles::parse_transfer(transfer({{"uid", "a"}, {"from", v}})))) << v;
    EXPECT_TRUE(bad(profiles::parse_transfer(transfer({{"uid", "a"}, {"from", "9"}, {"to", "8"}}))));
}

// A source that gives its bytes in one read.
struct StringSource : oob::Source {
    explicit StringSource(std::string d) : data(std::move(d)) {}
    void read(std::size_t, ReadHandler done) override { done(std::exchange(data, {})); }
    void cancel() override {}
    std::string data;
};

struct FakeTransfers : profiles::MediaTransfers {
    std::optional<std::string> object_of(const std::string& uid) const override {
        if (uid == "gone") return std::nullopt;
        return uid;
    }
    void open(const TransferRequest& r, profiles::OpenCallback done) override {
        requests.push_back(r);
        if (r.from && *r.from >= 10) return done(Error{"range-not-satisfiable", "the resource has 10 bytes"});
        if (r.uid == "down") return done(Error{"remote-server-not-found", "the NAS does not answer"});
        done(profiles::OpenedMedia{10, 10, "audio/mpeg", std::make_unique<StringSource>("0123456789")});
    }
    std::vector<TransferRequest> requests;
};

struct TransferHandler : ::testing::Test {
    TransferHandler() : device("upnp-1", disco::Identity{"automation", "media-server", "", "NAS"}) {
        profiles::TransferServices s;
        s.transfers = transfers;
        s.executor = io.get_executor();
        s.setup_wait = std::chrono::milliseconds(20);
        profiles::install_transfer_profile(device, std::move(s), access);
        link = add_link();
    }
    // Runs the transfer handler; the reply stanza lands in the result when it comes.
    std::shared_ptr<std::optional<xml::Element>> ask_later(xml::Element payload, const client::Peer& peer) {
        xml::Element iq = stanza::iq("get", "home@example.org/upnp-1");
        iq.set_attr("id", "t1");
        iq.add_child(std::move(payload));
        auto reply = std::make_shared<std::optional<xml::Element>>();
        for (const auto& h : device.handlers())
            if (h.name == "transfer")
                h.handler(nullptr, peer, iq, client::IqResponder(iq, [reply](xml::Element e) { *reply = std::move(e); }));
        return reply;
    }
    // Runs the transfer handler and returns the reply stanza.
    xml::Element ask(xml::Element payload, const client::Peer& peer) {
        auto reply = ask_later(std::move(payload), peer);
        EXPECT_TRUE(*reply);
        return *reply ? **reply : xml::Element("none");
    }
    bridge::OobLinks::Token add_link() {
        return device.oob_links()->add(owner, [this](oob::SourcePtr src) {
            sources.push_back(std::move(src));
            return std::to_string(sources.size());
        });
    }
    boost::asio::io_context io;
    client::Peer owner = client::Peer::end_to_end_peer(Jid::parse("home@example.org/phone").value(), "ab");
    std::shared_ptr<FakeTransfers> transfers = std::make_shared<FakeTransfers>();
    std::shared_ptr<bridge::AccessPolicy> access = std::make_shared<bridge::AccessPolicy>(true, "home@example.org");
    bridge::Device device;
    bridge::OobLinks::Token link = 0;
    std::vector<oob::SourcePtr> sources;
};

TEST_F(TransferHandler, AnswersWithTheOobIdAndHandsTheSourceOver) {
    auto reply = ask(transfer({{"uid", "64$3$2"}, {"from", "2"}}), owner);
    ASSERT_EQ(reply.attr_or("type"), "result") << reply.to_string();
    const auto* oob = reply.child("oob", profiles::ns_oob);
    ASSERT_TRUE(oob);
    EXPECT_EQ(oob->attr_or("id"), "1");
    EXPECT_EQ(oob->attr_or("size"), "10");
    EXPECT_EQ(oob->attr_or("total"), "10");
    EXPECT_EQ(oob->attr_or("type"), "audio/mpeg");
    ASSERT_EQ(sources.size(), 1u);
    ASSERT_EQ(transfers->requests.size(), 1u);
    EXPECT_EQ(transfers->requests[0].from, 2u);
}

TEST_F(TransferHandler, ErrorsOfTheProfile) {
    auto unknown = ask(transfer({{"uid", "gone"}}), owner);
    EXPECT_EQ(stanza::error_condition(unknown), "item-not-found");

    auto range = ask(transfer({{"uid", "a"}, {"from", "10"}}), owner);
    EXPECT_EQ(stanza::error_condition(range), "bad-request");
    EXPECT_TRUE(range.child("error")->child("range-not-satisfiable", profiles::ns_server)) << range.to_string();

    auto down = ask(transfer({{"uid", "down"}}), owner);
    EXPECT_EQ(stanza::error_condition(down), "remote-server-not-found");

    // Another controller of the account (or the same JID with another certificate) has no session.
    auto other = client::Peer::end_to_end_peer(Jid::parse("home@example.org/tablet").value(), "ab");
    EXPECT_EQ(stanza::error_condition(ask(transfer({{"uid", "a"}}), other)), "unexpected-request");
    auto other_cert = client::Peer::end_to_end_peer(owner.jid, "cd");
    EXPECT_EQ(stanza::error_condition(ask(transfer({{"uid", "a"}}), other_cert)), "unexpected-request");
    device.oob_links()->remove(link);
    auto no_session = ask(transfer({{"uid", "a"}}), owner);
    EXPECT_EQ(stanza::error_condition(no_session), "unexpected-request");
    EXPECT_TRUE(no_session.child("error")->child("oob-session-required", profiles::ns_server));
    EXPECT_TRUE(sources.empty());
}

// TLS 1.3: the controller's first request can overtake the device's side
// of the handshake; while that session is being set up, the request waits.
TEST_F(TransferHandler, WaitsForTheRequestersSessionBeingSetUp) {
    device.oob_links()->remove(link);
    bool setting_up = true;
    device.oob_links()->set_setting_up([&](const Jid& j) { return setting_up && j == owner.jid; });
    auto reply = ask_later(transfer({{"uid", "a"}}), owner);
    io.poll();
    EXPECT_FALSE(*reply);
    link = add_link();
    io.restart();
    io.poll();
    ASSERT_TRUE(*reply);
    EXPECT_EQ((*reply)->attr_or("type"), "result") << (*reply)->to_string();
    EXPECT_EQ(sources.size(), 1u);

    // It never comes up: oob-session-required after the wait.
    device.oob_links()->remove(link);
    auto late = ask_later(transfer({{"uid", "a"}}), owner);
    io.restart();
    io.run_for(std::chrono::seconds(5));
    ASSERT_TRUE(*late);
    EXPECT_TRUE((*late)->child("error")->child("oob-session-required", profiles::ns_server));

    // Nothing being set up: refused at once.
    setting_up = false;
    auto other = ask(transfer({{"uid", "a"}}), owner);
    EXPECT_TRUE(other.child("error")->child("oob-session-required", profiles::ns_server));
}

TEST_F(TransferHandler, C2sPeersNeedEndToEnd) {
    auto c2s = client::Peer{Jid::parse("home@example.org/phone").value(), client::Peer::Proof::C2s, ""};
    auto reply = ask(transfer({{"uid", "a"}}), c2s);
    EXPECT_EQ(stanza::error_condition(reply), "not-authorized");
    EXPECT_TRUE(transfers->requests.empty());
}

}  // namespace
