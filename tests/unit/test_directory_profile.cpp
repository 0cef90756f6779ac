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
    auto r = profiles::parse_browse(browse({{"id", "0"}})).value();
    EXPECT_EQ(r.id, "0");
    EXPECT_EQ(r.start, 0u);
    EXPECT_EQ(r.max, 100u);
    EXPECT_FALSE(r.subscribe);
}

TEST(DirectoryProfile, BrowseMaxIsCappedAt1000) {
    auto r = profiles::parse_browse(browse({{"id", "64$3"}, {"start", "5"}, {"max", "5000"}, {"subscribe", "true"}})).value();
    EXPECT_EQ(r.id, "64$3");
    EXPECT_EQ(r.start, 5u);
    EXPECT_EQ(r.max, 1000u);
    EXPECT_TRUE(r.subscribe);
}

// A rejected request: bad-request with a text saying what.
template <class T>
bool bad(const Result<T>& r) {
    return !r.ok() && r.error().condition == "bad-request" && !r.error().text.empty();
}

TEST(DirectoryProfile, BrowseRejectsBadNumbersAndIds) {
    for (const char* v : {"-1", "abc", "", "1.5", "99999999999", " 3"})
        EXPECT_TRUE(bad(profiles::parse_browse(browse({{"id", "0"}, {"start", v}})))) << v;
    EXPECT_TRUE(bad(profiles::parse_browse(browse({{"id", "0"}, {"max", "x"}}))));
    EXPECT_TRUE(bad(profiles::parse_browse(browse({{"id", ""}}))));
    std::string long_id(1025, 'a');
    EXPECT_TRUE(bad(profiles::parse_browse(browse({{"id", long_id.c_str()}}))));
    EXPECT_TRUE(bad(profiles::parse_browse(browse({{"id", "0"}, {"subscribe", "yes"}}))));
}

TEST(DirectoryProfile, BrowseNeedsAnId) {
    EXPECT_TRUE(bad(profiles::parse_browse(browse({}))));
    EXPECT_TRUE(bad(profiles::parse_browse(browse({{"max", "10"}}))));
}

TEST(DirectoryProfile, LimitsCountCharactersNotBytes) {
    std::string id;
    for (int i = 0; i < 1024; ++i) id += "\xc3\xa4";  // 1024 × 'ä': 2048 bytes
    EXPECT_TRUE(profiles::parse_browse(browse({{"id", id.c_str()}})).ok());
    EXPECT_TRUE(bad(profiles::parse_browse(browse({{"id", (id + "a").c_str()}}))));
    std::string term;
    for (int i = 0; i < 256; ++i) term += "\xe2\x82\xac";  // 256 × '€'
    xml::Element s("search", profiles::ns_server);
    s.add_text_child("artist", term);
    EXPECT_TRUE(profiles::parse_search(s).ok());
    xml::Element longer("search", profiles::ns_server);
    longer.add_text_child("artist", term + "x");
    EXPECT_TRUE(bad(profiles::parse_search(longer)));
    EXPECT_EQ(profiles::char_count("\xc3\xa4rzte"), 5u);
}

TEST(DirectoryProfile, SearchTerms) {
    xml::Element s("search", profiles::ns_server);
    s.set_attr("container", "1$2");
    s.add_text_child("artist", "Nightwish");
    s.add_text_child("class", "audio");
    auto r = profiles::parse_search(s).value();
    EXPECT_EQ(r.container, "1$2");
    ASSERT_EQ(r.terms.size(), 2u);
    EXPECT_EQ(r.terms[0], (std::pair<std::string, std::string>{"artist", "Nightwish"}));
}

TEST(DirectoryProfile, SearchRejectsUnknownOrBadTerms) {
    xml::Element unknown("search", profiles::ns_server);
    unknown.add_text_child("colour", "red");
    EXPECT_TRUE(bad(profiles::parse_search(unknown)));
    for (const char* c : {"music", "Audio", "AUDIO", " audio", ""}) {
        xml::Element cls("search", profiles::ns_server);
        cls.add_text_child("class", c);
        EXPECT_TRUE(bad(profiles::parse_search(cls))) << c;
    }
    xml::Element empty("search", profiles::ns_server);
    EXPECT_TRUE(bad(profiles::parse_search(empty)));
    xml::Element sixteen("search", profiles::ns_server);
    for (int i = 0; i < 16; ++i) sixteen.add_text_child("title", "x");
    EXPECT_TRUE(profiles::parse_search(sixteen).ok());
    xml::Element many("search", profiles::ns_server);
    for (int i = 0; i < 17; ++i) many.add_text_child("title", "x");
    EXPECT_TRUE(bad(profiles::parse_search(many)));
    xml::Element foreign("search", profiles::ns_server);
    foreign.add_text_child("artist", "x", "urn:other");
    EXPECT_TRUE(bad(profiles::parse_search(foreign)));
    xml::Element blank("search", profiles::ns_server);
    blank.add_text_child("title", "");
    EXPECT_TRUE(bad(profiles::parse_search(blank)));
    xml::Element nested("search", profiles::ns_server);
    nested.add("title", profiles::ns_server).add("b", profiles::ns_server);
    EXPECT_TRUE(bad(profiles::parse_search(nested)));
    xml::Element long_container("search", profiles::ns_server);
    long_container.set_attr("container", std::string(1025, 'c'));
    long_container.add_text_child("title", "x");
    EXPECT_TRUE(bad(profiles::parse_search(long_container)));
}

client::Peer c2s(const char* jid) { return {Jid::must_parse(jid), client::Peer::Proof::C2s, {}}; }

TEST(AccessPolicy, RequireE2eAnswersE2eRequired) {
    bridge::AccessPolicy p(true, "home@x");
    auto err = p.check(c2s("home@x/phone"));
    ASSERT_TRUE(err);
    EXPECT_EQ(err->attr_or("type"), "auth");
    EXPECT_TRUE(err->child("not-authorized", ns::stanzas));
    EXPECT_TRUE(err->child("e2e-required", ns::xpmn));
}

TEST(AccessPolicy, RelaxedAllowsOnlyTheHomeAccount) {
    bridge::AccessPolicy p(false, "home@x");
    EXPECT_FALSE(p.check(c2s("home@x/phone")));
    EXPECT_FALSE(p.check(c2s("HOME@x/phone")));
    auto err = p.check(c2s("juliet@x/balcony"));
    ASSERT_TRUE(err);
    EXPECT_TRUE(err->child("forbidden", ns::stanzas));
    EXPECT_FALSE(err->child_text("text", ns::stanzas).empty());
    EXPECT_TRUE(p.check(client::Peer{}));  // no proven identity
    // End-to-end peers are judged by the trust layer.
    EXPECT_FALSE(p.check(client::Peer::end_to_end_peer(Jid::must_parse("juliet@x/b"), "ab")));
}

}  // namespace
