// `xpmn control` requests and the status lines of `xpmn status` (wire profile §7).
#include <gtest/gtest.h>

#include "tools/xpmn/player_text.hpp"
#include "xmpp/core/namespaces.hpp"

using namespace xpmn;
using tools::control_request;

namespace {

std::string payload(std::vector<std::string> words) {
    auto r = control_request(words);
    return r ? r->payload.to_string() : "error: " + r.error().text;
}

bool refused(std::vector<std::string> words) {
    auto r = control_request(words);
    return !r && r.error().condition == "bad-request" && r.error().text.find("actions:") != std::string::npos;
}

TEST(XpmnControl, Commands) {
    EXPECT_EQ(payload({"play"}), "<player xmlns='urn:xmpp:tmp:media:player:0'><play/></player>");
    EXPECT_EQ(payload({"previous"}), "<player xmlns='urn:xmpp:tmp:media:player:0'><previous/></player>");
    EXPECT_EQ(control_request({"pause"})->type, "set");
}

TEST(XpmnControl, SeekIsAbsoluteUnlessSigned) {
    EXPECT_EQ(payload({"seek", "90"}), "<player xmlns='urn:xmpp:tmp:media:player:0'><seek position='90'/></player>");
    EXPECT_EQ(payload({"seek", "+10"}), "<player xmlns='urn:xmpp:tmp:media:player:0'><seek offset='10'/></player>");
    EXPECT_EQ(payload({"seek", "-10.5"}), "<player xmlns='urn:xmpp:tmp:media:player:0'><seek offset='-10.5'/></player>");
}

TEST(XpmnControl, VolumeAndMute) {
    EXPECT_EQ(payload({"volume", "60"}),
              "<control xmlns='urn:xmpp:tmp:media:control:0'><variable name='volume'>60</variable></control>");
    EXPECT_EQ(payload({"mute", "on"}),
              "<control xmlns='urn:xmpp:tmp:media:control:0'><variable name='mute'>true</variable></control>");
    EXPECT_EQ(payload({"mute", "off"}),
              "<control xmlns='urn:xmpp:tmp:media:control:0'><variable name='mute'>false</variable></control>");
}

TEST(XpmnControl, BadUsage) {
    for (auto w : std::vector<std::vector<std::string>>{{},
                                                        {"rewind"},
                                                        {"play", "now"},
                                                        {"seek"},
                                                        {"seek", "x"},
                                                        {"seek", "+-3"},
                                                        {"seek", "1:30"},
                                                        {"volume", "101"},
                                                        {"volume", "-1"},
                                                        {"volume", "5.5"},
                                                        {"volume"},
                                                        {"mute", "yes"},
                                                        {"mute"}})
        EXPECT_TRUE(refused(w)) << (w.empty() ? "(none)" : w[0]);
}

xml::Element status(const char* state, const char* position, const char* duration) {
    xml::Element s("status", ns::media_player);
    s.set_attr("state", state);
    if (position) s.set_attr("position", position);
    if (duration) s.set_attr("duration", duration);
    auto& item = s.add("item", ns::media_metadata);
    item.add_text_child("title", "Song", ns::media_metadata);
    item.add_text_child("artist", "Band", ns::media_metadata);
    return s;
}

TEST(XpmnStatus, Lines) {
    xml::Element c("control", ns::media_control);
    c.add("variable", ns::media_control).set_attr("name", "volume").add_text("60");
    c.add("variable", ns::media_control).set_attr("name", "mute").add_text("true");
    EXPECT_EQ(tools::status_line(status("playing", "83.2", "296"), &c), "playing  Song — Band  1:23 / 4:56  vol 60 (muted)");
    EXPECT_EQ(tools::status_line(status("stopped", nullptr, nullptr), nullptr), "stopped  Song — Band");
    EXPECT_EQ(tools::live_line(status("paused", "50", "100"), nullptr, std::nullopt, 10),
              "paused  Song — Band  [#####-----] 0:50 / 1:40");
    EXPECT_EQ(tools::live_line(status("playing", "50", "100"), nullptr, 100.0, 4), "playing  Song — Band  [####] 1:40 / 1:40");
}

TEST(XpmnStatus, UntitledItemsShowTheirUri) {
    xml::Element item("item", ns::media_metadata);
    item.add_text_child("uri", "xmpp:h@x/upnp-1?transfer;uid=1", ns::media_metadata);
    EXPECT_EQ(tools::item_title(item), "xmpp:h@x/upnp-1?transfer;uid=1");
}

}  // namespace
