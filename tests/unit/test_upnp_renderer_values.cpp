// What the renderer adapter reads from and writes to a MediaRenderer: AVTransport
// times (absurd ones are unknown), LastChange documents, the DIDL-Lite of
// SetAVTransportURI, and what a transport-state / position poll reports.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "adapters/upnp/last_change.hpp"
#include "adapters/upnp/renderer_poll.hpp"
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
    EXPECT_EQ(format_upnp_time(75.4).value_or("none"), "0:01:15");
    EXPECT_EQ(format_upnp_time(3723).value_or("none"), "1:02:03");
    EXPECT_EQ(format_upnp_time(-3).value_or("none"), "0:00:00");
}

TEST(UpnpTime, AbsurdTimesAreUnknown) {
    // Within the limit (1e9 s): read; beyond it: unknown.
    EXPECT_DOUBLE_EQ(*parse_upnp_time("277777:46:40"), 1e9);
    EXPECT_FALSE(parse_upnp_time("277777:46:41"));
    EXPECT_FALSE(parse_upnp_time("999999999:59:59.999"));
    EXPECT_FALSE(parse_upnp_time("99999999999999999999:00:00"));
    EXPECT_FALSE(parse_upnp_time("-0:00:05"));
    EXPECT_FALSE(parse_upnp_time("nan"));
    EXPECT_FALSE(format_upnp_time(std::nan("")));
    EXPECT_FALSE(format_upnp_time(std::numeric_limits<double>::infinity()));
    EXPECT_FALSE(format_upnp_time(1e300));
    EXPECT_FALSE(format_upnp_time(1e9 + 1));
    EXPECT_EQ(format_upnp_time(-std::numeric_limits<double>::infinity()).value_or("none"), "0:00:00");
    EXPECT_EQ(format_upnp_time(1e9).value_or("none"), "277777:46:40");
}

TEST(DidlWriter, AbsurdDurationsAreLeftOut) {
    for (const char* d : {"1e300", "inf", "-inf", "nan", "-5", "1e10", "garbage"}) {
        xml::Element item("item", "urn:xmpp:media:metadata:0");
        item.add_text_child("title", "T");
        item.add_text_child("duration", d);
        std::string didl = mappings::didl_for_playable("http://h/x", item);
        EXPECT_EQ(didl.find("duration="), std::string::npos) << d << ": " << didl;
    }
}

namespace {
RendererPoll sample(std::optional<double> position, std::string uri, std::string state, double at_s) {
    return {position, std::move(uri), std::move(state),
            std::chrono::steady_clock::time_point{} + std::chrono::milliseconds(static_cast<long>(at_s * 1000))};
}
}  // namespace

TEST(RendererPoll, ALostTransportStateChangeIsReported) {
    std::optional<RendererPoll> last;
    auto first = poll_change(last, sample(10, "http://n/a", "PLAYING", 0));
    EXPECT_TRUE(first.status);  // the first poll of a watch
    EXPECT_FALSE(first.seeked);
    // Playing on, nothing changed: nothing to report.
    auto same = poll_change(last, sample(11, "http://n/a", "PLAYING", 1));
    EXPECT_FALSE(same.status || same.seeked || same.controls);
    // Paused elsewhere and its LastChange lost: the poll reports it.
    auto paused = poll_change(last, sample(11.2, "http://n/a", "PAUSED_PLAYBACK", 2));
    EXPECT_TRUE(paused.status);
    EXPECT_FALSE(paused.seeked);
    auto still = poll_change(last, sample(11.2, "http://n/a", "PAUSED_PLAYBACK", 3));
    EXPECT_FALSE(still.status || still.seeked);
    // The next track (LastChange lost too).
    auto next = poll_change(last, sample(0, "http://n/b", "PAUSED_PLAYBACK", 4));
    EXPECT_TRUE(next.status);
}

TEST(RendererPoll, AJumpIsASeek) {
    std::optional<RendererPoll> last;
    poll_change(last, sample(10, "u", "PLAYING", 0));
    EXPECT_FALSE(poll_change(last, sample(11, "u", "PLAYING", 1)).seeked);
    EXPECT_TRUE(poll_change(last, sample(60, "u", "PLAYING", 2)).seeked);
    EXPECT_FALSE(poll_change(last, sample(60, "u", "PLAYING", 3)).seeked);  // paused there: not a jump
    // A renderer that does not say where it is: never a seek.
    EXPECT_FALSE(poll_change(last, sample(std::nullopt, "u", "PLAYING", 4)).seeked);
    EXPECT_FALSE(poll_change(last, sample(500, "u", "PLAYING", 5)).seeked);
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
