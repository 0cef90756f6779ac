// The grants store: grant/revoke/forget persisted atomically, replacing the
// same target, expiry judged on an injected clock, file:line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "bridge/security/grants.hpp"

using namespace xpmn;
using namespace std::chrono_literals;
using security::Grant;
using security::GrantStore;
using security::Permission;

namespace {

struct Grants : ::testing::Test {
    std::string dir;
    common::SystemTime now = *common::parse_rfc3339("2026-12-01T20:00:00Z");
    security::SystemClock clock = [this] { return now; };
    const Jid juliet = Jid::must_parse("juliet@capulet.lit");
    const Jid nas = Jid::must_parse("home@example.org/upnp-3fa2c1d0");
    const Jid vlc = Jid::must_parse("home@example.org/mpris-vlc");

    void SetUp() override {
        char tmpl[] = "/tmp/xpmn-grants-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string path() const { return dir + "/grants.toml"; }
    Grant grant(Permission p, const Jid& device, std::string container = {},
                std::optional<common::SystemTime> expires = std::nullopt) const {
        return {juliet, device, p, std::move(container), expires};
    }
};

TEST_F(Grants, GrantListAndReload) {
    GrantStore store(path(), clock);
    ASSERT_TRUE(store.grant({grant(Permission::Read, nas, "64$3", now + 2h), grant(Permission::Control, vlc)}));
    auto loaded = GrantStore::load(path(), clock);
    auto all = loaded.list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].container, "64$3");
    EXPECT_EQ(common::format_utc(*all[0].expires), "2026-12-01T22:00:00Z");
    EXPECT_EQ(all[1].permission, Permission::Control);
    EXPECT_FALSE(all[1].expires);
    EXPECT_EQ(loaded.list(Jid::must_parse("juliet@capulet.lit/balcony")).size(), 2u);
    EXPECT_TRUE(loaded.list(Jid::must_parse("romeo@montague.lit")).empty());
}

TEST_F(Grants, TheSameTargetIsReplaced) {
    GrantStore store(path(), clock);
    ASSERT_TRUE(store.grant({grant(Permission::Read, nas, "64$3", now + 1h)}));
    ASSERT_TRUE(store.grant({grant(Permission::Read, nas, "64$3", now + 3h)}));
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(*store.list()[0].expires, now + 3h);
    ASSERT_TRUE(store.grant({grant(Permission::Read, nas, "64$4")}));
    EXPECT_EQ(store.list().size(), 2u);
}

TEST_F(Grants, ExpiryIsJudgedWhenAsked) {
    GrantStore store(path(), clock);
    ASSERT_TRUE(store.grant({grant(Permission::Read, nas, {}, now + 1h)}));
    EXPECT_EQ(store.matching(juliet, nas, Permission::Read).size(), 1u);
    now += 1h - 1s;
    EXPECT_EQ(store.matching(juliet, nas, Permission::Read).size(), 1u);
    now += 1s;
    EXPECT_TRUE(store.matching(juliet, nas, Permission::Read).empty());
    EXPECT_TRUE(store.list().empty());
    // The next change drops it from the file.
    ASSERT_TRUE(store.grant({grant(Permission::Events, vlc)}));
    EXPECT_EQ(GrantStore::load(path(), [this] { return now - 24h; }).list().size(), 1u);
}

TEST_F(Grants, ControlIncludesEventsButNotTheOtherWayRound) {
    GrantStore store(path(), clock);
    ASSERT_TRUE(store.grant({grant(Permission::Control, vlc)}));
    EXPECT_EQ(store.matching(juliet, vlc, Permission::Events).size(), 1u);
    GrantStore events(dir + "/other.toml", clock);
    ASSERT_TRUE(events.grant({grant(Permission::Events, vlc)}));
    EXPECT_TRUE(events.matching(juliet, vlc, Permission::Control).empty());
    EXPECT_TRUE(store.matching(juliet, Jid::must_parse("home@example.org/mpris-other"), Permission::Events).empty());
}

TEST_F(Grants, RevokeAndForget) {
    GrantStore store(path(), clock);
    Grant romeo{Jid::must_parse("romeo@montague.lit"), nas, Permission::Read, {}, {}};
    ASSERT_TRUE(store.grant({grant(Permission::Read, nas, "1"), grant(Permission::Read, nas, "2"),
                             grant(Permission::Events, vlc), romeo}));
    EXPECT_EQ(*store.revoke(juliet, nas), 2u);
    EXPECT_EQ(GrantStore::load(path(), clock).list().size(), 2u);
    EXPECT_EQ(*store.forget(juliet), 1u);
    auto left = GrantStore::load(path(), clock).list();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].jid.str(), "romeo@montague.lit");
    EXPECT_EQ(*store.revoke(juliet, nas), 0u);
}

TEST_F(Grants, BadGrantsAreRefusedAllOrNothing) {
    GrantStore store(path(), clock);
    std::vector<std::pair<Grant, std::string>> bad = {
        {grant(Permission::Events, nas), "not a player"},
        {grant(Permission::Read, vlc), "not a media server"},
        {grant(Permission::Control, vlc, "64"), "container"},
        {grant(Permission::Read, Jid::must_parse("home@example.org")), "full JID"},
        {{Jid::must_parse("juliet@capulet.lit/x"), nas, Permission::Read, {}, {}}, "bare JID"},
        {grant(Permission::Read, nas, std::string(2000, 'c')), "longer"},
    };
    for (const auto& [g, why] : bad) {
        auto r = store.grant({grant(Permission::Read, nas), g});
        ASSERT_FALSE(r) << why;
        EXPECT_EQ(r.error().condition, "bad-request");
        EXPECT_NE(r.error().text.find(why), std::string::npos) << r.error().text;
    }
    EXPECT_TRUE(store.list().empty());
    EXPECT_FALSE(std::filesystem::exists(path()));
}

TEST_F(Grants, ABadFileIsRefusedWithFileAndLine) {
    std::ofstream(path()) << "[[grant]]\n"
                             "jid = \"juliet@capulet.lit\"\n"
                             "device = \"home@example.org/upnp-1\"\n"
                             "permission = \"write\"\n"
                             "expires = \"soon\"\n"
                             "[[grant]]\n"
                             "jid = \"juliet@capulet.lit\"\n"
                             "device = \"home@example.org/upnp-1\"\n"
                             "permission = \"control\"\n";
    try {
        (void)GrantStore::load(path(), clock);
        FAIL();
    } catch (const security::GrantStoreError& e) {
        std::string what = e.what();
        for (const char* expected : {"grants.toml:4: permission 'write'", "grants.toml:5: expires 'soon'",
                                     "grants.toml:8: control is a player permission"})
            EXPECT_NE(what.find(expected), std::string::npos) << expected << " not in\n" << what;
    }
}

}  // namespace
