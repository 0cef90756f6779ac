// A temporary state directory with a trust store (an owner of
// home@example.org and the friend juliet@capulet.lit) and a grant store on a
// settable clock, for the security unit tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bridge/security/grants.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::test_security {

inline const std::string kOwnerFp(64, 'a'), kFriendFp(64, 'b');

struct Stores : ::testing::Test {
    std::string dir;
    common::SystemTime now = *common::parse_rfc3339("2026-12-01T20:00:00Z");
    std::shared_ptr<xtls::TrustStore> trust;
    std::shared_ptr<security::GrantStore> grants;

    void SetUp() override {
        char tmpl[] = "/tmp/xpmn-security-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        trust = std::make_shared<xtls::TrustStore>(dir + "/trust.toml");
        grants = std::make_shared<security::GrantStore>(dir + "/grants.toml", [this] { return now; });
        ASSERT_TRUE(trust->add({kOwnerFp, Jid::must_parse("home@example.org"), xtls::TrustRole::Owner, "Phone", now}));
        ASSERT_TRUE(trust->add({kFriendFp, Jid::must_parse("juliet@capulet.lit"), xtls::TrustRole::Friend, "Tab", now}));
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
};

}  // namespace xpmn::test_security
