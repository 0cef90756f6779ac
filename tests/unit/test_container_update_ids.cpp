// ContainerUpdateIDs as servers event it (UPnP CDS: CSV of id,updateID pairs).
#include <gtest/gtest.h>

#include "adapters/upnp/container_update_ids.hpp"

using xpmn::upnp::parse_container_update_ids;
using Pairs = std::vector<std::pair<std::string, std::uint32_t>>;

TEST(ContainerUpdateIds, Pairs) {
    EXPECT_EQ(parse_container_update_ids("0,12,64$3,7"), (Pairs{{"0", 12}, {"64$3", 7}}));
    EXPECT_EQ(parse_container_update_ids(""), Pairs{});
    EXPECT_EQ(parse_container_update_ids("0,1"), (Pairs{{"0", 1}}));
}

TEST(ContainerUpdateIds, EscapedCommasAndBackslashes) {
    EXPECT_EQ(parse_container_update_ids(R"(a\,b,3,c\\d,4)"), (Pairs{{"a,b", 3}, {"c\\d", 4}}));
}

TEST(ContainerUpdateIds, MalformedPairsAreSkipped) {
    EXPECT_EQ(parse_container_update_ids("0,x,1,2"), (Pairs{{"1", 2}}));
    EXPECT_EQ(parse_container_update_ids("0,-1,1,99999999999,2,3"), (Pairs{{"2", 3}}));
    EXPECT_EQ(parse_container_update_ids("0,5,dangling"), (Pairs{{"0", 5}}));
    EXPECT_EQ(parse_container_update_ids(",5,0,"), Pairs{});
}

TEST(ContainerUpdateIds, AtMostMaxPairs) {
    std::string csv;
    for (int i = 0; i < 50; ++i) csv += std::to_string(i) + ",1,";
    EXPECT_EQ(parse_container_update_ids(csv, 10).size(), 10u);
}
