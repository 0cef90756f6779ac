// MPRIS metadata → <item xmlns='urn:xmpp:media:metadata:0'>, the player
// naming rules of wire profile §2 (with .instance<N>), the [mpris] globs,
// and reading a player's properties of loose or wrong D-Bus types.
#include <gtest/gtest.h>

#include <sdbus-c++/sdbus-c++.h>

#include "adapters/mpris/mpris_values.hpp"
#include "adapters/mpris/player_names.hpp"
#include "mappings/mpris/mpris_metadata.hpp"

using namespace xpmn;
using namespace xpmn::mpris;
using mappings::MprisMetadata;

TEST(MprisMetadataMapping, WritesTheProfileItem) {
    MprisMetadata m;
    m.title = "Ghost Love Score";
    m.artists = {"Nightwish", "Tarja"};
    m.album = "Once";
    m.genres = {"Metal"};
    m.length_s = 600.25;
    m.art_url = "https://example.org/once.jpg";
    m.url = "http://192.168.1.2:8200/MediaItems/22.flac";
    const xml::Element item = mappings::to_metadata_item(m);
    EXPECT_EQ(item.name(), "item");
    EXPECT_EQ(item.ns(), "urn:xmpp:media:metadata:0");
    EXPECT_FALSE(item.attr("id"));
    EXPECT_EQ(item.child_text("class"), "other");
    EXPECT_EQ(item.child_text("title"), "Ghost Love Score");
    EXPECT_EQ(item.child_text("artist"), "Nightwish, Tarja");
    EXPECT_EQ(item.child_text("album"), "Once");
    EXPECT_EQ(item.child_text("genre"), "Metal");
    EXPECT_EQ(item.child_text("duration"), "600.25");
    EXPECT_EQ(item.child_text("cover-album"), "https://example.org/once.jpg");
    EXPECT_EQ(item.child_text("uri"), "http://192.168.1.2:8200/MediaItems/22.flac");
}

TEST(MprisMetadataMapping, LocalUrlsNeverReachTheWire) {
    MprisMetadata m;
    m.title = "t";
    m.art_url = "file:///home/u/.cache/cover.png";
    m.url = "file:///home/u/music/a.wav";
    const xml::Element item = mappings::to_metadata_item(m);
    EXPECT_EQ(item.child("cover-album"), nullptr);
    EXPECT_EQ(item.child("uri"), nullptr);
    EXPECT_EQ(item.to_string().find("/home/u"), std::string::npos);
    EXPECT_TRUE(mappings::is_http_url("HTTPS://x"));
    EXPECT_FALSE(mappings::is_http_url("ftp://x"));
}

TEST(MprisNames, ResourceFollowsSection2) {
    EXPECT_EQ(mpris_suffix("org.mpris.MediaPlayer2.vlc"), "vlc");
    EXPECT_FALSE(mpris_suffix("org.mpris.MediaPlayer2."));
    EXPECT_FALSE(mpris_suffix("org.freedesktop.DBus"));
    EXPECT_EQ(resource_token("Spotify_Beta.x"), "spotify-beta-x");
    EXPECT_EQ(resource_token("--A--b--"), "a-b");
    EXPECT_EQ(resource_token("._"), "player");
    EXPECT_EQ(player_resource("mpv", false), "mpris-mpv");
}

TEST(MprisNames, InstanceRule) {
    EXPECT_EQ(split_instance("vlc.instance1234").base, "vlc");
    EXPECT_EQ(split_instance("vlc.instance1234").instance, "1234");
    EXPECT_EQ(split_instance("vlc.instancex").instance, "");
    // VLC's two names are one player, named after the plain one.
    EXPECT_EQ(preferred_suffix({"vlc.instance1234", "vlc"}), "vlc");
    EXPECT_EQ(preferred_suffix({"vlc.instance1234"}), "vlc.instance1234");
    // Alone of its base: the suffix is stripped; with another of that base: kept.
    EXPECT_EQ(player_resource("vlc.instance1234", false), "mpris-vlc");
    EXPECT_EQ(player_resource("vlc.instance1234", true), "mpris-vlc-1234");
}

TEST(MprisNames, IncludeExcludeGlobs) {
    EXPECT_TRUE(player_selected({}, {}, "mpv", "mpv Media Player"));
    EXPECT_TRUE(player_selected({"*"}, {}, "mpv", ""));
    EXPECT_FALSE(player_selected({"*"}, {"mpv*"}, "mpv", ""));
    EXPECT_TRUE(player_selected({"vlc*"}, {}, "vlc.instance12", "VLC media player"));
    EXPECT_TRUE(player_selected({"vlc media*"}, {}, "x", "VLC media player"));
    EXPECT_FALSE(player_selected({"vlc"}, {}, "mpv", "mpv"));
}

TEST(MprisValues, ReadsLooseTypes) {
    PropertyMap md;
    md["mpris:trackid"] = sdbus::Variant(sdbus::ObjectPath("/org/mpris/MediaPlayer2/Track/1"));
    md["xesam:title"] = sdbus::Variant(std::string("A"));
    md["xesam:artist"] = sdbus::Variant(std::string("Solo"));  // s instead of as
    md["mpris:length"] = sdbus::Variant(std::uint64_t{2'500'000});  // t instead of x
    md["xesam:album"] = sdbus::Variant(std::int32_t{7});  // nonsense: left out
    PropertyMap props;
    props["PlaybackStatus"] = sdbus::Variant(std::string("Playing"));
    props["Position"] = sdbus::Variant(std::int64_t{1'500'000});
    props["Rate"] = sdbus::Variant(1.5);
    props["CanSeek"] = sdbus::Variant(true);
    props["Volume"] = sdbus::Variant(0.42);
    props["Metadata"] = sdbus::Variant(md);
    auto s = read_status(props);
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_EQ(s->state, profiles::PlayState::Playing);
    EXPECT_DOUBLE_EQ(*s->position, 1.5);
    EXPECT_DOUBLE_EQ(*s->duration, 2.5);
    EXPECT_DOUBLE_EQ(s->rate, 1.5);
    EXPECT_TRUE(s->seekable);
    ASSERT_TRUE(s->item);
    EXPECT_EQ(s->item->child_text("artist"), "Solo");
    EXPECT_EQ(s->item->child("album"), nullptr);
    auto md_read = metadata_property(props);
    ASSERT_TRUE(md_read);
    EXPECT_EQ(md_read->track_id, "/org/mpris/MediaPlayer2/Track/1");
    auto c = read_controls(props);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->volume, 42);
    EXPECT_FALSE(c->mute);
}

TEST(MprisValues, WrongTypesAreClearErrors) {
    PropertyMap props;
    props["PlaybackStatus"] = sdbus::Variant(std::int32_t{1});
    auto s = read_status(props);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().condition, "internal-server-error");
    EXPECT_NE(s.error().text.find("PlaybackStatus"), std::string::npos);

    PropertyMap bad_volume;
    bad_volume["Volume"] = sdbus::Variant(std::string("loud"));
    auto c = read_controls(bad_volume);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().text.find("Volume"), std::string::npos);

    PropertyMap bad_md;
    bad_md["Metadata"] = sdbus::Variant(std::string("x"));
    EXPECT_FALSE(read_status(bad_md));

    PropertyMap unknown_state;
    unknown_state["PlaybackStatus"] = sdbus::Variant(std::string("Dancing"));
    EXPECT_FALSE(read_status(unknown_state));

    // An idle player: no item.
    auto idle = read_status(PropertyMap{});
    ASSERT_TRUE(idle);
    EXPECT_FALSE(idle->item);
    EXPECT_EQ(idle->state, profiles::PlayState::Stopped);
}

TEST(MprisValues, OversizedStringsAreCutOrDropped) {
    const std::string long_text(5000, 'a');
    const std::string long_url = "http://lan/" + std::string(5000, 'u');
    PropertyMap md;
    md["xesam:title"] = sdbus::Variant("\xC3\xA9" + long_text);  // é first: cut on a UTF-8 boundary
    md["xesam:album"] = sdbus::Variant(std::string(3000, 'b') + "\xC3\xA9");
    md["xesam:artist"] = sdbus::Variant(std::vector<std::string>(100, long_text));
    md["xesam:url"] = sdbus::Variant(long_url);
    md["mpris:artUrl"] = sdbus::Variant(long_url);
    md["mpris:trackid"] = sdbus::Variant(sdbus::ObjectPath("/t/" + std::string(5000, 'x')));
    auto m = read_metadata(md);
    EXPECT_EQ(m.title.size(), kMaxMetadataTextBytes);
    EXPECT_EQ(m.title.substr(0, 2), "\xC3\xA9");
    EXPECT_LE(m.album.size(), kMaxMetadataTextBytes);
    EXPECT_EQ(m.album, std::string(kMaxMetadataTextBytes, 'b'));
    ASSERT_EQ(m.artists.size(), kMaxMetadataListEntries);
    for (const auto& a : m.artists) EXPECT_EQ(a.size(), kMaxMetadataTextBytes);
    EXPECT_TRUE(m.url.empty());  // a cut URL would name something else
    EXPECT_TRUE(m.art_url.empty());
    EXPECT_TRUE(m.track_id.empty());
    // Within the limits, nothing changes.
    md["xesam:url"] = sdbus::Variant(std::string("http://lan/a.ogg"));
    EXPECT_EQ(read_metadata(md).url, "http://lan/a.ogg");
}

TEST(MprisValues, IdentityIsCutOnAUtf8Boundary) {
    EXPECT_EQ(player_identity("VLC media player"), "VLC media player");
    std::string many_e;
    for (int i = 0; i < 200; ++i) many_e += "\xC3\xA9";  // 400 bytes of é
    auto cut = player_identity(many_e);
    EXPECT_EQ(cut.size(), kMaxIdentityBytes);
    EXPECT_EQ(cut, many_e.substr(0, kMaxIdentityBytes));
    EXPECT_EQ(player_identity(std::string(1, 'a') + many_e).size(), kMaxIdentityBytes - 1);
}
