// The acl profile on /bridge over fake channels: owners grant, revoke and
// forget (persisted; forget also drops the trust entries and calls the hook),
// friends only list their own, c2s peers need e2e, malformed requests get
// bad-request with a text.
#include <gtest/gtest.h>

#include "bridge/security/acl_profile.hpp"
#include "tests/unit/fake_channel.hpp"
#include "tests/unit/security_test_stores.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using fakes::FakeChannel;
using security::ns_acl;

namespace {

using test_security::kFriendFp;
using test_security::kOwnerFp;

struct Acl : test_security::Stores {
    boost::asio::io_context io;
    std::shared_ptr<bridge::Device> device =
        std::make_shared<bridge::Device>("bridge", disco::Identity{"automation", "gateway", "", "xpmn-bridge"});
    std::vector<std::string> forgotten;
    security::AclContext context;
    std::shared_ptr<FakeChannel> owner, friend_, c2s;

    void SetUp() override {
        Stores::SetUp();
        auto access = std::make_shared<bridge::AccessPolicy>(true, "home@example.org", trust, grants);
        context = {trust, grants, access, [this](const Jid& j, const std::string& fp) {
                       forgotten.push_back(fp.empty() ? j.str() : j.str() + " " + fp);
                   }};
        security::install_acl_profile(*device, context);
        owner = FakeChannel::create(io, client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/phone"), kOwnerFp));
        friend_ = FakeChannel::create(io, client::Peer::end_to_end_peer(Jid::must_parse("juliet@capulet.lit/tab"), kFriendFp));
        c2s = FakeChannel::create(io, std::nullopt);
        for (auto& ch : {owner, friend_, c2s}) device->add_channel(ch);
    }
    static xml::Element iq(const char* type, std::vector<xml::Element> items = {}) {
        xml::Element e = stanza::iq(type, "home@example.org/bridge", "a1");
        e.set_attr("from", "home@example.org/phone");
        auto& acl = e.add("acl", ns_acl);
        for (auto& i : items) acl.add_child(std::move(i));
        return e;
    }
    static xml::Element item(const char* name, std::vector<std::pair<const char*, const char*>> attrs) {
        xml::Element e(name, ns_acl);
        for (auto& [k, v] : attrs) e.set_attr(k, v);
        return e;
    }
    static xml::Element grant(const char* device, const char* permission, const char* container = nullptr) {
        auto g = item("grant", {{"jid", "juliet@capulet.lit"}, {"device", device}, {"permission", permission}});
        if (container) g.set_attr("container", container);
        return g;
    }
    // The answer to one request on `ch`.
    xml::Element ask(FakeChannel& ch, const xml::Element& request) {
        ch.sent.clear();
        ch.deliver(request);
        EXPECT_EQ(ch.sent.size(), 1u);
        return ch.sent.empty() ? xml::Element() : ch.sent.back();
    }
    std::string condition(FakeChannel& ch, const xml::Element& request) {
        auto reply = ask(ch, request);
        if (reply.attr_or("type") == "result") return "result";
        EXPECT_FALSE(stanza::error_text(reply).empty());
        return stanza::error_condition(reply);
    }
    std::vector<xml::Element> listed(FakeChannel& ch) {
        auto reply = ask(ch, iq("get"));
        std::vector<xml::Element> out;
        if (auto* acl = reply.child("acl", ns_acl))
            for (auto* g : acl->children("grant", ns_acl)) out.push_back(*g);
        return out;
    }
};

TEST_F(Acl, TheBridgeAnnouncesTheFeature) {
    auto info = device->info();
    EXPECT_NE(std::find(info.features.begin(), info.features.end(), ns_acl), info.features.end());
}

TEST_F(Acl, OwnersGrantAndEveryoneSeesWhatConcernsThem) {
    auto g = grant("home@example.org/upnp-3fa2c1d0", "read", "64$3");
    g.set_attr("expires", "2026-12-01T22:00:00Z");
    EXPECT_EQ(condition(*owner, iq("set", {g, grant("home@example.org/mpris-vlc", "control")})), "result");
    auto all = listed(*owner);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].attr_or("jid"), "juliet@capulet.lit");
    EXPECT_EQ(all[0].attr_or("device"), "home@example.org/upnp-3fa2c1d0");
    EXPECT_EQ(all[0].attr_or("permission"), "read");
    EXPECT_EQ(all[0].attr_or("container"), "64$3");
    EXPECT_EQ(all[0].attr_or("expires"), "2026-12-01T22:00:00Z");
    EXPECT_EQ(listed(*friend_).size(), 2u);  // its own
    // Persisted.
    EXPECT_EQ(security::GrantStore::load(dir + "/grants.toml", [this] { return now; }).list().size(), 2u);

    ASSERT_TRUE(grants->grant({{Jid::must_parse("romeo@montague.lit"), Jid::must_parse("home@example.org/upnp-1"),
                                security::Permission::Read, {}, {}}}));
    EXPECT_EQ(listed(*owner).size(), 3u);
    EXPECT_EQ(listed(*friend_).size(), 2u);  // not romeo's
}

TEST_F(Acl, FriendsAndC2sPeersMayNotChangeGrants) {
    auto set = iq("set", {grant("home@example.org/upnp-1", "read")});
    EXPECT_EQ(condition(*friend_, set), "forbidden");
    auto reply = ask(*c2s, set);
    EXPECT_EQ(stanza::error_condition(reply), "not-authorized");
    EXPECT_TRUE(reply.child("error")->child("e2e-required", ns::xpmn));
    EXPECT_EQ(stanza::error_condition(ask(*c2s, iq("get"))), "not-authorized");
    EXPECT_TRUE(grants->list().empty());
}

TEST_F(Acl, RevokeRemovesTheAccountsGrantsOnTheDevice) {
    ASSERT_EQ(condition(*owner, iq("set", {grant("home@example.org/upnp-1", "read", "1"),
                                           grant("home@example.org/upnp-1", "read", "2"),
                                           grant("home@example.org/mpris-vlc", "events")})),
              "result");
    EXPECT_EQ(condition(*owner, iq("set", {item("revoke", {{"jid", "juliet@capulet.lit"},
                                                           {"device", "home@example.org/upnp-1"}})})),
              "result");
    auto left = listed(*owner);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].attr_or("device"), "home@example.org/mpris-vlc");
}

TEST_F(Acl, ForgetDropsGrantsAndCertificatesAndClosesStreams) {
    ASSERT_EQ(condition(*owner, iq("set", {grant("home@example.org/upnp-1", "read")})), "result");
    EXPECT_EQ(condition(*owner, iq("set", {item("forget", {{"jid", "juliet@capulet.lit"}})})), "result");
    EXPECT_TRUE(grants->list().empty());
    EXPECT_FALSE(trust->find(kFriendFp));
    EXPECT_TRUE(xtls::TrustStore::load(dir + "/trust.toml").of(Jid::must_parse("juliet@capulet.lit")).empty());
    EXPECT_EQ(forgotten, std::vector<std::string>{"juliet@capulet.lit"});
    // The forgotten friend's next request on a stream still open is refused.
    EXPECT_EQ(condition(*friend_, iq("get")), "forbidden");
}

TEST_F(Acl, ForgettingOneControllerKeepsTheAccountsGrantsUntilItsLast) {
    const Jid juliet = Jid::must_parse("juliet@capulet.lit");
    const std::string second(64, 'c');
    ASSERT_TRUE(trust->add({second, juliet, xtls::TrustRole::Friend, "Juliet's phone", {}}));
    ASSERT_EQ(condition(*owner, iq("set", {grant("home@example.org/upnp-1", "read")})), "result");
    // One of two: its certificate goes, its streams are closed, the grants stay.
    ASSERT_TRUE(security::forget_controller(context, juliet, kFriendFp));
    EXPECT_FALSE(trust->find(kFriendFp));
    EXPECT_TRUE(trust->find(second));
    EXPECT_EQ(grants->list().size(), 1u);
    EXPECT_EQ(forgotten, std::vector<std::string>{"juliet@capulet.lit " + std::string(kFriendFp)});
    EXPECT_EQ(xtls::TrustStore::load(dir + "/trust.toml").of(juliet).size(), 1u);
    // Not a controller of that account (or gone already): nothing changes.
    EXPECT_EQ(security::forget_controller(context, juliet, kFriendFp).error().condition, "item-not-found");
    EXPECT_EQ(security::forget_controller(context, Jid::must_parse("home@example.org"), second).error().condition,
              "item-not-found");
    EXPECT_EQ(security::forget_controller(context, juliet, "not hex").error().condition, "item-not-found");
    EXPECT_TRUE(trust->find(second));
    // The last one: the grants go with it.
    ASSERT_TRUE(security::forget_controller(context, juliet, second));
    EXPECT_TRUE(trust->of(juliet).empty());
    EXPECT_TRUE(grants->list().empty());
}

TEST_F(Acl, MalformedRequestsAreBadRequestsAndChangeNothing) {
    std::vector<xml::Element> bad = {
        item("grant", {{"device", "home@example.org/upnp-1"}, {"permission", "read"}}),
        item("grant", {{"jid", "juliet@capulet.lit/x"}, {"device", "home@example.org/upnp-1"}, {"permission", "read"}}),
        item("grant", {{"jid", "juliet@capulet.lit"}, {"device", "other@example.org/upnp-1"}, {"permission", "read"}}),
        item("grant", {{"jid", "juliet@capulet.lit"}, {"device", "home@example.org/upnp-1"}, {"permission", "write"}}),
        item("grant", {{"jid", "juliet@capulet.lit"}, {"device", "home@example.org/upnp-1"}}),
        item("grant", {{"jid", "juliet@capulet.lit"}, {"device", "home@example.org/upnp-1"}, {"permission", "read"},
                       {"expires", "tomorrow"}}),
        item("grant", {{"jid", "juliet@capulet.lit"}, {"device", "home@example.org/upnp-1"}, {"permission", "read"},
                       {"container", ""}}),
        item("grant", {{"jid", "@@"}, {"device", "home@example.org/upnp-1"}, {"permission", "read"}}),
        item("revoke", {{"jid", "juliet@capulet.lit"}}),
        item("forget", {}),
    };
    for (auto& b : bad) {
        auto reply = ask(*owner, iq("set", {grant("home@example.org/upnp-1", "read"), b}));
        EXPECT_EQ(stanza::error_condition(reply), "bad-request") << b.to_string();
        EXPECT_EQ(reply.child("error")->attr_or("type"), "modify");
        EXPECT_FALSE(stanza::error_text(reply).empty());
    }
    EXPECT_EQ(condition(*owner, iq("set")), "bad-request");
    EXPECT_EQ(condition(*owner, iq("set", {item("promote", {{"jid", "juliet@capulet.lit"}})})),
              "service-unavailable");
    std::vector<xml::Element> many(security::kMaxAclItems + 1, grant("home@example.org/upnp-1", "read"));
    EXPECT_EQ(condition(*owner, iq("set", many)), "bad-request");
    EXPECT_TRUE(grants->list().empty());
}

}  // namespace
