// What the renderer adapter reads from and writes to a MediaRenderer: AVTransport
// times, LastChange documents, the DIDL-Lite of SetAVTransportURI.
#include <gtest/gtest.h>

#include "adapters/upnp/last_change.hpp"
#include "adapters/upnp/upnp_time.hpp"
#include "mappings/didl/didl_writer.hpp"

using namespace xpmn;
using namespace xpmn::upnp;

TEST(UpnpTime, WithAndWithoutFractions) {
    EXPECT_DOUBLE_EQ(*parse_upnp_time("0:00:12"), 12.0);
    EXPECT_DOUBLE_EQ(*parse_upnp_time("1:02:03"), 3723.0);
    EXPECT_DOUBLE_EQ(*parse_upnp_time("00:00:12.500"), 12.5);  // gmediarender
    EXPECT_DOUBLE_EQ(*parse_upnp_time("0:00:01.1/4"), 1.25);
    EXPECT_DOUBLE_EQ(*parse_upnp_time("+0:00:05"), 5.0);
    EXPECT_FALSE(parse_upnp_time("NOT_IMPLEMENTED"));  // Rygel's AbsTime
    EXPECT_FALSE(parse_upnp_time(""));
    EXPECT_FALSE(parse_upnp_time("0:61:00"));
    EXPECT_EQ(format_upnp_time(75.4), "0:01:15");
    EXPECT_EQ(format_upnp_time(3723), "1:02:03");
    EXPECT_EQ(format_upnp_time(-3), "0:00:00");
}

TEST(UpnpLastChange, TransportAndRendering) {
    auto t = parse_last_change(
        "<Event xmlns=\"urn:schemas-upnp-org:metadata-1-0/AVT/\"><InstanceID val=\"0\">"
        "<TransportState val=\"PLAYING\"/><CurrentTrackURI val=\"http://127.0.0.1/a.wav\"/></InstanceID></Event>");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->transport_state, "PLAYING");
    EXPECT_EQ(t->current_track_uri, "http://127.0.0.1/a.wav");
    EXPECT_TRUE(t->status());
    EXPECT_FALSE(t->controls());
    auto r = parse_last_change(
        "<Event xmlns=\"urn:schemas-upnp-org:metadata-1-0/RCS/\"><InstanceID val=\"0\">"
        "<Volume channel=\"Master\" val=\"40\"/><Mute channel=\"Master\" val=\"0\"/></InstanceID></Event>");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->volume, "40");
    EXPECT_EQ(r->mute, "0");
    EXPECT_TRUE(r->controls());
    EXPECT_FALSE(parse_last_change("<nonsense"));
}

TEST(DidlWriter, ItemWithResource) {
    xml::Element item("item", "urn:xmpp:media:metadata:0");
    item.add_text_child("class", "audio");
    item.add_text_child("title", "Tone & <Noise>");
    item.add_text_child("artist", "Sox");
    item.add_text_child("mime-type", "audio/x-wav");
    item.add_text_child("duration", "30.000");
    std::string didl = mappings::didl_for_playable("http://10.0.0.2:8200/MediaItems/1.wav", item);
    EXPECT_NE(didl.find("<DIDL-Lite"), std::string::npos);
    EXPECT_NE(didl.find("Tone &amp; &lt;Noise&gt;"), std::string::npos);
    EXPECT_NE(didl.find("object.item.audioItem.musicTrack"), std::string::npos);
    EXPECT_NE(didl.find("http-get:*:audio/x-wav:*"), std::string::npos);
    EXPECT_NE(didl.find("duration=\"0:00:30"), std::string::npos) << didl;
    EXPECT_NE(didl.find(">http://10.0.0.2:8200/MediaItems/1.wav</res>"), std::string::npos);
    std::string bare = mappings::didl_for_playable("http://h/x", std::nullopt);
    EXPECT_NE(bare.find("<dc:title>http://h/x</dc:title>"), std::string::npos);
}
