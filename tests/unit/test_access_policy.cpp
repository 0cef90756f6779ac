// AccessPolicy with the trust store and grants: c2s rules, pairing peers,
// owners, friends by grant (device, permission, container subtree through an
// asynchronous "within" callback), expiry at decision time.
#include <gtest/gtest.h>

#include "bridge/access_policy.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"
#include "tests/unit/security_test_stores.hpp"

using namespace xpmn;
using namespace std::chrono_literals;
using bridge::AccessRequest;
using security::Permission;

namespace {

using test_security::kFriendFp;
using test_security::kOwnerFp;
const std::string kStrangerFp(64, 'c');

struct Policy : test_security::Stores {
    std::shared_ptr<bridge::AccessPolicy> policy;
    client::Peer owner = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/phone"), kOwnerFp);
    client::Peer friend_ = client::Peer::end_to_end_peer(Jid::must_parse("juliet@capulet.lit/tab"), kFriendFp);
    const Jid nas = Jid::must_parse("home@example.org/upnp-1");

    void SetUp() override {
        Stores::SetUp();
        policy = std::make_shared<bridge::AccessPolicy>(true, "home@example.org", trust, grants);
    }

    // The decision, or "pending" when the callback was not called (yet).
    std::string decide(const client::Peer& peer, AccessRequest request, const bridge::ContainerWithin& within = {}) {
        std::string out = "pending";
        int calls = 0;
        policy->decide(peer, request, within, [&](std::optional<xml::Element> denied) {
            ++calls;
            out = denied ? stanza::error_condition(*denied) : "allowed";
            if (denied) {
                EXPECT_FALSE(denied->child_text("text", ns::stanzas).empty());
            }
        });
        EXPECT_LE(calls, 1);
        return out;
    }
    void give(Permission p, const char* device, std::string container = {},
              std::optional<common::SystemTime> expires = std::nullopt) {
        ASSERT_TRUE(grants->grant({{Jid::must_parse("juliet@capulet.lit"), Jid::must_parse(device), p,
                                    std::move(container), expires}}));
    }
};

AccessRequest read(std::optional<std::string> container = std::nullopt) {
    return {"upnp-1", Permission::Read, std::move(container)};
}

TEST_F(Policy, C2sPeersNeedAnEndToEndStream) {
    auto c2s = client::Peer{Jid::must_parse("home@example.org/phone"), client::Peer::Proof::C2s, {}};
    EXPECT_EQ(decide(c2s, read()), "not-authorized");
    auto err = policy->check(c2s);
    ASSERT_TRUE(err);
    EXPECT_TRUE(err->child("e2e-required", ns::xpmn));
    bridge::AccessPolicy relaxed(false, "home@example.org", trust, grants);
    EXPECT_FALSE(relaxed.check(c2s));
    EXPECT_EQ(stanza::error_condition(*relaxed.check(client::Peer{Jid::must_parse("juliet@capulet.lit/x"),
                                                                  client::Peer::Proof::C2s, {}})),
              "forbidden");
}

TEST_F(Policy, PairingPeersGetNoProfileCommands) {
    client::Peer pairing{Jid::must_parse("home@example.org/phone"), client::Peer::Proof::Pairing, {}};
    EXPECT_EQ(decide(pairing, read()), "forbidden");
    EXPECT_TRUE(policy->check(pairing));
}

TEST_F(Policy, OwnersMayDoEverything) {
    EXPECT_EQ(decide(owner, read("64")), "allowed");
    EXPECT_EQ(decide(owner, {"mpris-vlc", Permission::Control, std::nullopt}), "allowed");
    EXPECT_FALSE(policy->check(owner));
    EXPECT_EQ(policy->admit(owner).role, bridge::PeerRole::Owner);
}

TEST_F(Policy, UnknownOrMisusedCertificatesAreForbidden) {
    auto stranger = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/evil"), kStrangerFp);
    EXPECT_EQ(decide(stranger, read()), "forbidden");
    // The friend's key presented under the home account's JID.
    auto impostor = client::Peer::end_to_end_peer(Jid::must_parse("home@example.org/tab"), kFriendFp);
    EXPECT_EQ(decide(impostor, read()), "forbidden");
    EXPECT_TRUE(policy->check(impostor));
}

TEST_F(Policy, AFriendWithoutGrantsGetsNothing) {
    EXPECT_EQ(policy->admit(friend_).role, bridge::PeerRole::Friend);
    EXPECT_EQ(decide(friend_, read()), "forbidden");
    EXPECT_TRUE(policy->check(friend_));  // owner-level requests
}

TEST_F(Policy, AWholeServerGrant) {
    give(Permission::Read, "home@example.org/upnp-1");
    EXPECT_EQ(decide(friend_, read()), "allowed");
    EXPECT_EQ(decide(friend_, read("64$3$1")), "allowed");
    EXPECT_EQ(decide(friend_, {"upnp-2", Permission::Read, std::nullopt}), "forbidden");
}

TEST_F(Policy, AContainerGrantCoversItsSubtreeAsTheDirectorySays) {
    give(Permission::Read, "home@example.org/upnp-1", "64$3");
    std::vector<std::pair<std::string, std::string>> asked;
    std::function<void(bool)> later;
    bridge::ContainerWithin within = [&](const std::string& c, const std::string& g, std::function<void(bool)> done) {
        asked.emplace_back(c, g);
        later = std::move(done);
    };
    EXPECT_EQ(decide(friend_, read("64$3"), within), "allowed");  // the granted container itself
    EXPECT_TRUE(asked.empty());
    EXPECT_EQ(decide(friend_, read()), "forbidden");  // the whole server
    EXPECT_EQ(decide(friend_, read("64$3$9")), "forbidden");  // nobody to ask

    std::string result = "pending";
    policy->decide(friend_, read("64$3$9"), within,
                   [&](std::optional<xml::Element> denied) { result = denied ? "forbidden" : "allowed"; });
    ASSERT_EQ(asked, (std::vector<std::pair<std::string, std::string>>{{"64$3$9", "64$3"}}));
    EXPECT_EQ(result, "pending");  // waits for the NAS
    later(true);
    EXPECT_EQ(result, "allowed");

    result = "pending";
    policy->decide(friend_, read("1$2"), within,
                   [&](std::optional<xml::Element> denied) { result = denied ? "forbidden" : "allowed"; });
    later(false);
    EXPECT_EQ(result, "forbidden");
}

TEST_F(Policy, EveryGrantedContainerIsTried) {
    give(Permission::Read, "home@example.org/upnp-1", "A");
    give(Permission::Read, "home@example.org/upnp-1", "B");
    std::vector<std::string> asked;
    bridge::ContainerWithin within = [&](const std::string& c, const std::string& g, std::function<void(bool)> done) {
        asked.push_back(g);
        done(g == "B");
    };
    EXPECT_EQ(decide(friend_, read("B$1"), within), "allowed");
    EXPECT_EQ(asked, (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(decide(friend_, read("C$1"), [](auto&, auto&, auto done) { done(false); }), "forbidden");
}

TEST_F(Policy, ExpiredAndRevokedGrantsStopWorking) {
    give(Permission::Read, "home@example.org/upnp-1", {}, now + 1h);
    EXPECT_EQ(decide(friend_, read()), "allowed");
    now += 1h;
    EXPECT_EQ(decide(friend_, read()), "forbidden");
    give(Permission::Read, "home@example.org/upnp-1");
    EXPECT_EQ(decide(friend_, read()), "allowed");
    ASSERT_TRUE(grants->revoke(Jid::must_parse("juliet@capulet.lit"), nas));
    EXPECT_EQ(decide(friend_, read()), "forbidden");
}

TEST_F(Policy, PlayerPermissions) {
    give(Permission::Events, "home@example.org/mpris-vlc");
    EXPECT_EQ(decide(friend_, {"mpris-vlc", Permission::Events, std::nullopt}), "allowed");
    EXPECT_EQ(decide(friend_, {"mpris-vlc", Permission::Control, std::nullopt}), "forbidden");
    give(Permission::Control, "home@example.org/mpris-vlc");
    EXPECT_EQ(decide(friend_, {"mpris-vlc", Permission::Control, std::nullopt}), "allowed");
}

TEST_F(Policy, AForgottenFriendIsAStranger) {
    give(Permission::Read, "home@example.org/upnp-1");
    ASSERT_TRUE(trust->forget(Jid::must_parse("juliet@capulet.lit")));
    EXPECT_EQ(decide(friend_, read()), "forbidden");
}

}  // namespace
