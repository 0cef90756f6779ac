// Search terms against a NAS (search_plan.hpp): Unicode case folding in the
// bridge's matcher, the part of a term sent to the NAS, the UPnP criteria.
#include <gtest/gtest.h>

#include "adapters/upnp/search_plan.hpp"

using namespace xpmn;
using namespace xpmn::upnp;

namespace {

mappings::MediaObject item(std::string title, std::string artist, std::string cls = "audio") {
    mappings::MediaObject o;
    o.id = "1";
    o.title = std::move(title);
    o.artist = std::move(artist);
    o.cls = std::move(cls);
    return o;
}

profiles::SearchRequest request(std::vector<std::pair<std::string, std::string>> terms) {
    profiles::SearchRequest r;
    r.terms = std::move(terms);
    return r;
}

}  // namespace

TEST(SearchPlan, FoldCase) {
    EXPECT_EQ(fold_case("Die ÄRZTE"), fold_case("die ärzte"));
    EXPECT_EQ(fold_case("A\xCC\x88rger"), fold_case("ärger"));  // A + combining diaeresis
    EXPECT_EQ(fold_case("STRASSE"), fold_case("Straße"));
    EXPECT_EQ(fold_case("ΣΊΣΥΦΟΣ"), fold_case("σίσυφος"));
    EXPECT_EQ(fold_case("日本語"), "日本語");
    EXPECT_EQ(fold_case(std::string("a\xff" "b", 3)), fold_case("a\xEF\xBF\xBD" "b"));  // repaired, no crash
}

TEST(SearchPlan, MatcherFoldsAndAndsTerms) {
    EXPECT_TRUE(SearchMatcher(request({{"artist", "ärzte"}}))(item("Schrei nach Liebe", "Die Ärzte")));
    EXPECT_TRUE(SearchMatcher(request({{"artist", "a&b"}}))(item("x", "A&B")));
    EXPECT_TRUE(SearchMatcher(request({{"title", "ÄRGER ÜBER"}}))(item("Ärger über Café", "x")));
    EXPECT_FALSE(SearchMatcher(request({{"artist", "ärzte"}}))(item("Ärzte", "Die Toten Hosen")));
    EXPECT_FALSE(SearchMatcher(request({{"artist", "arzte"}}))(item("x", "Die Ärzte")));  // no accent stripping
    EXPECT_TRUE(SearchMatcher(request({{"artist", "band"}, {"class", "audio"}}))(item("x", "The Band")));
    EXPECT_FALSE(SearchMatcher(request({{"artist", "band"}, {"class", "video"}}))(item("x", "The Band")));
    EXPECT_FALSE(SearchMatcher(request({{"album", "x"}}))(item("x", "x")));  // no album
    auto container = item("Die Ärzte", "Die Ärzte");
    container.is_container = true;
    EXPECT_FALSE(SearchMatcher(request({{"title", "ärzte"}}))(container));
}

TEST(SearchPlan, ReliablePart) {
    EXPECT_EQ(reliable_part("test artist"), "test artist");
    EXPECT_EQ(reliable_part("ärzte"), "rzte");
    EXPECT_EQ(reliable_part("Die Ärzte"), "rzte");
    EXPECT_EQ(reliable_part("A&B"), "A");
    EXPECT_EQ(reliable_part("Sonderzeichen & Co"), "Sonderzeichen");
    EXPECT_EQ(reliable_part("many_"), "many");
    EXPECT_EQ(reliable_part("日本語"), "");
    EXPECT_EQ(reliable_part("&"), "");
}

TEST(SearchPlan, Criteria) {
    auto p = plan_search(request({{"artist", "test artist"}}), "upnp:artist,upnp:class");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->exact);
    EXPECT_EQ(p->criteria, "upnp:artist contains \"test artist\" and upnp:class derivedfrom \"object.item\"");
    p = plan_search(request({{"artist", "Die Ärzte"}, {"class", "audio"}}), "*");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->exact);
    EXPECT_EQ(p->criteria, "upnp:artist contains \"rzte\" and upnp:class derivedfrom \"object.item.audioItem\"");
    p = plan_search(request({{"title", "日本語"}}), "*");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->exact);
    EXPECT_EQ(p->criteria, "upnp:class derivedfrom \"object.item\"");
    EXPECT_EQ(plan_search(request({{"title", "x\"y"}}), "*")->criteria,
              "dc:title contains \"x\" and upnp:class derivedfrom \"object.item\"");
    EXPECT_FALSE(plan_search(request({{"genre", "rock"}}), "dc:title,upnp:class"));
    EXPECT_FALSE(plan_search(request({{"class", "other"}}), "*"));
    EXPECT_FALSE(plan_search(request({{"title", "x"}}), "dc:title"));  // no upnp:class: containers would match
    EXPECT_FALSE(plan_search(request({{"title", "x"}}), ""));
}
