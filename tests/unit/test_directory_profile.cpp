// Directory profile request parsing, limits and access rules (wire profile §3, §5).
#include <gtest/gtest.h>

#include "bridge/access_policy.hpp"
#include "bridge/profiles/directory_profile.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;
using profiles::BrowseRequest;
using profiles::SearchRequest;

namespace {

xml::Element browse(std::initializer_list<std::pair<const char*, const char*>> attrs) {
    xml::Element e("browse", profiles::ns_server);
    for (auto [k, v] : attrs) e.set_attr(k, v);
    return e;
}

TEST(DirectoryProfile, BrowseDefaults) {
    auto r = std::get<BrowseRequest>(profiles::parse_browse(browse({})));
    EXPECT_EQ(r.id, "0");
    EXPECT_EQ(r.start, 0u);
    EXPECT_EQ(r.max, 100u);
    EXPECT_FALSE(r.subscribe);
}

TEST(DirectoryProfile, BrowseMaxIsCappedAt1000) {
    auto r = std::get<BrowseRequest>(profiles::parse_browse(browse({{"id", "64$3"}, {"start", "5"}, {"max", "5000"}, {"subscribe", "true"}})));
    EXPECT_EQ(r.id, "64$3");
    EXPECT_EQ(r.start, 5u);
    EXPECT_EQ(r.max, 1000u);
    EXPECT_TRUE(r.subscribe);
}

TEST(DirectoryProfile, BrowseRejectsBadNumbersAndIds) {
    for (const char* bad : {"-1", "abc", "", "1.5", "99999999999", " 3"})
        EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_browse(browse({{"start", bad}})))) << bad;
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_browse(browse({{"max", "x"}}))));
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_browse(browse({{"id", ""}}))));
    std::string long_id(2000, 'a');
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_browse(browse({{"id", long_id.c_str()}}))));
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_browse(browse({{"subscribe", "yes"}}))));
}

TEST(DirectoryProfile, SearchTerms) {
    xml::Element s("search", profiles::ns_server);
    s.set_attr("container", "1$2");
    s.add_text_child("artist", "Nightwish");
    s.add_text_child("class", "audio");
    auto r = std::get<SearchRequest>(profiles::parse_search(s));
    EXPECT_EQ(r.container, "1$2");
    ASSERT_EQ(r.terms.size(), 2u);
    EXPECT_EQ(r.terms[0], (std::pair<std::string, std::string>{"artist", "Nightwish"}));
}

TEST(DirectoryProfile, SearchRejectsUnknownOrBadTerms) {
    xml::Element unknown("search", profiles::ns_server);
    unknown.add_text_child("colour", "red");
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_search(unknown)));
    xml::Element cls("search", profiles::ns_server);
    cls.add_text_child("class", "music");
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_search(cls)));
    xml::Element empty("search", profiles::ns_server);
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_search(empty)));
    xml::Element many("search", profiles::ns_server);
    for (int i = 0; i < 17; ++i) many.add_text_child("title", "x");
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_search(many)));
    xml::Element foreign("search", profiles::ns_server);
    foreign.add_text_child("artist", "x", "urn:other");
    EXPECT_TRUE(std::holds_alternative<std::string>(profiles::parse_search(foreign)));
}

TEST(AccessPolicy, RequireE2eAnswersE2eRequired) {
    bridge::AccessPolicy p(true, "home@x");
    auto err = p.check({"home@x/phone"});
    ASSERT_TRUE(err);
    EXPECT_EQ(err->attr_or("type"), "auth");
    EXPECT_TRUE(err->child("not-authorized", ns::stanzas));
    EXPECT_TRUE(err->child("e2e-required", ns::xpmn));
}

TEST(AccessPolicy, RelaxedAllowsOnlyTheHomeAccount) {
    bridge::AccessPolicy p(false, "home@x");
    EXPECT_FALSE(p.check({"home@x/phone"}));
    EXPECT_FALSE(p.check({"HOME@x/phone"}));
    auto err = p.check({"juliet@x/balcony"});
    ASSERT_TRUE(err);
    EXPECT_TRUE(err->child("forbidden", ns::stanzas));
    EXPECT_TRUE(p.check({""}));
    EXPECT_FALSE(p.check({"juliet@x/b", true}));  // end-to-end peers are judged by the trust layer
}

}  // namespace
