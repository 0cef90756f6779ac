// UPnP device naming and server selection rules.
#include <gtest/gtest.h>

#include "adapters/upnp/media_server_finder.hpp"
#include "adapters/upnp/resource_name.hpp"

using namespace xpmn::upnp;

TEST(UpnpNaming, ResourceIsFirst8HexOfSha1OfUdn) {
    // sha1("uuid:4d696e69-444c-164e-9d41-b827eb0f7e4a") computed independently with sha1sum.
    EXPECT_EQ(resource_for_udn("upnp", "uuid:4d696e69-444c-164e-9d41-b827eb0f7e4a"), "upnp-3c9d0295");
    EXPECT_EQ(resource_for_udn("renderer", "x").substr(0, 9), "renderer-");
    EXPECT_EQ(resource_for_udn("upnp", "a"), resource_for_udn("upnp", "a"));
    EXPECT_NE(resource_for_udn("upnp", "a"), resource_for_udn("upnp", "b"));
}

TEST(UpnpNaming, IncludeExclude) {
    FinderOptions o;
    EXPECT_TRUE(server_selected(o, "uuid:1", "NAS"));
    o.include = {"*nas*"};
    EXPECT_TRUE(server_selected(o, "uuid:1", "Living Room NAS"));  // friendly names match case-insensitively
    EXPECT_FALSE(server_selected(o, "uuid:1", "Laptop"));
    o.include = {"uuid:1"};
    EXPECT_TRUE(server_selected(o, "uuid:1", "Laptop"));
    o.exclude = {"Laptop"};
    EXPECT_FALSE(server_selected(o, "uuid:1", "Laptop"));  // exclude wins
}
