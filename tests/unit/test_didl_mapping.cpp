// DIDL-Lite → XPMN metadata (wire profile §5): recorded minidlna, Gerbera and
// Rygel results (tests/data/didl, see README there), hostile documents, the
// <item>/<container> output and the transfer table.
#include <gtest/gtest.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "mappings/didl/didl_parser.hpp"
#include "mappings/didl/didl_values.hpp"
#include "mappings/didl/metadata_xml.hpp"
#include "mappings/didl/resource_choice.hpp"
#include "mappings/didl/transfer_table.hpp"

using namespace xpmn::mappings;
using xpmn::Result;

namespace {

const std::string kJid = "home@example.org/upnp-3fa2c1d0";
const std::string kDidlOpen =
    "<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\" "
    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:upnp=\"urn:schemas-upnp-org:metadata-1-0/upnp/\">";

std::string load(const std::string& name) {
    std::ifstream f(std::string(XPMN_TEST_DATA) + "/didl/" + name, std::ios::binary);
    EXPECT_TRUE(f.good()) << name;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

Result<DidlDocument> parse_file(const std::string& name, const DidlLimits& limits = {}) {
    return parse_didl(load(name), limits);
}

const MediaObject& by_id(const Result<DidlDocument>& r, const std::string& id) {
    auto it = std::find_if(r->objects.begin(), r->objects.end(), [&](const MediaObject& o) { return o.id == id; });
    if (it == r->objects.end()) {
        ADD_FAILURE() << "no object " << id;
        static const MediaObject none;
        return none;
    }
    return *it;
}

bool has_warning(const Result<DidlDocument>& r, const std::string& part) {
    return std::any_of(r->warnings.begin(), r->warnings.end(),
                       [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

std::string serialize_all(const Result<DidlDocument>& r, TransferTable& t) {
    std::string out;
    for (const auto& o : r->objects) out += to_metadata(o, t, kJid).to_string();
    return out;
}

void expect_no_lan_urls(const std::string& xml) {
    for (const char* bad : {"http://", "https://", "HTTP://", "file://", "127.0.0.1", "internal:"})
        EXPECT_EQ(xml.find(bad), std::string::npos) << bad << " in " << xml.substr(0, 300);
}

}  // namespace

// ---------------------------------------------------------------- values

TEST(DidlValues, Duration) {
    EXPECT_EQ(parse_duration("0:13:50.5"), 830.5);
    EXPECT_EQ(parse_duration("0:00:03.552"), 3.552);   // minidlna: milliseconds
    EXPECT_EQ(parse_duration("00:00:04.2"), 4.2);      // Gerbera: one decimal, cut
    EXPECT_EQ(parse_duration("0:00:03.000"), 3.0);     // Rygel: whole seconds
    EXPECT_EQ(parse_duration("1:00:00.1/4"), 3600.25); // F0/F1
    EXPECT_EQ(parse_duration("12:00:00"), 43200.0);
    EXPECT_EQ(parse_duration("100:00:00"), 360000.0);
    EXPECT_EQ(parse_duration("0:0:5"), 5.0);
    EXPECT_EQ(parse_duration(" 0:01:00 "), 60.0);
    for (const char* bad : {"", "abc", "NaN", "inf", "1e3", "-0:00:01", "+0:00:01", "1:99:00", "0:00:60", "0:00",
                            "0:00:01.", "0:00:01.5/0", "0:00:01.3/2", "0:00:01.1/", "0:00:01.a", "0:00:01 x",
                            "1234567890:00:00", "0:00:01.1234567890123456789012345678901"})
        EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(DidlValues, FormatSecondsIsShortestExactDecimal) {
    EXPECT_EQ(format_seconds(830.5), "830.5");
    EXPECT_EQ(format_seconds(12.0), "12");
    EXPECT_EQ(format_seconds(3.552), "3.552");
    EXPECT_EQ(format_seconds(0.1), "0.1");
    EXPECT_EQ(format_seconds(3600.25), "3600.25");
    EXPECT_EQ(format_seconds(3599999996400.0), "3599999996400");  // the largest duration parse_duration takes
    EXPECT_EQ(format_seconds(std::nan("")), "");
}

TEST(DidlValues, Numbers) {
    EXPECT_EQ(parse_u64(" 42 "), 42u);
    EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615ull);
    for (const char* bad : {"", " ", "-1", "+1", "1.0", "1e3", "0x10", "12abc", "NaN", "18446744073709551616"})
        EXPECT_FALSE(parse_u64(bad).has_value()) << bad;
    EXPECT_EQ(parse_u32("4294967295"), 4294967295u);
    EXPECT_FALSE(parse_u32("4294967296").has_value());
    EXPECT_EQ(parse_track_number("7"), 7);
    EXPECT_FALSE(parse_track_number("0").has_value());
    EXPECT_FALSE(parse_track_number("2147483648").has_value());
    EXPECT_EQ(parse_resolution("640x480"), "640x480");
    EXPECT_EQ(parse_resolution("0640x0480"), "640x480");
    for (const char* bad : {"", "640", "640X480", "0x480", "640x0", "axb", "640x480x3", "-640x480", "99999999x1"})
        EXPECT_FALSE(parse_resolution(bad).has_value()) << bad;
}

TEST(DidlValues, Dates) {
    auto y = parse_date("2007");
    ASSERT_TRUE(y);
    EXPECT_TRUE(y->year_only);
    EXPECT_EQ(y->day, "2007");
    auto t = parse_date("2026-11-23T20:06:50Z");
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->year_only);
    EXPECT_EQ(t->day, "2026-11-23");
    EXPECT_EQ(t->full, "2026-11-23T20:06:50Z");
    EXPECT_TRUE(parse_date("2007-05"));
    EXPECT_TRUE(parse_date("2007-05-04T10:00:00+02:00"));
    for (const char* bad : {"", "07", "05/04/2007", "2007-13-01", "2007-00", "2007-05-32", "2007-5-4", "2007T",
                            "2007-05-04Tnoon", "20071"})
        EXPECT_FALSE(parse_date(bad).has_value()) << bad;
}

TEST(DidlValues, MediaClass) {
    EXPECT_EQ(media_class("object.item.audioItem.musicTrack"), "audio");
    EXPECT_EQ(media_class("object.item.audioItem"), "audio");
    EXPECT_EQ(media_class("object.item.videoItem.movie"), "video");
    EXPECT_EQ(media_class("object.item.imageItem.photo"), "image");
    EXPECT_EQ(media_class("object.item.audioItemX"), "other");
    EXPECT_EQ(media_class("object.item.playlistItem"), "other");
    EXPECT_EQ(media_class(""), "other");
}

TEST(DidlValues, FetchableUrls) {
    EXPECT_TRUE(is_fetchable_url("http://192.168.1.2:8200/MediaItems/22.mp3"));
    EXPECT_TRUE(is_fetchable_url("HTTPS://nas/a"));
    for (const char* bad : {"", "http://", "file:///srv/a.mp3", "ftp://nas/a", "javascript:alert(1)", "httpx://a",
                            "http://a b", "internal:/x"})
        EXPECT_FALSE(is_fetchable_url(bad)) << bad;
}

TEST(DidlValues, BitrateIsBytesPerSecondUnlessImplausible) {
    std::string note;
    EXPECT_EQ(bitrate_bps(16018, std::nullopt, std::nullopt, note), 128144u);  // UPnP: bytes/s
    EXPECT_TRUE(note.empty());
    EXPECT_EQ(bitrate_bps(16018, 32036, 2.0, note), 128144u);
    EXPECT_TRUE(note.empty());
    EXPECT_EQ(bitrate_bps(128000, 67619, 3.552, note), 128000u);  // minidlna audio: already bit/s
    EXPECT_NE(note.find("bit/s"), std::string::npos);
    EXPECT_FALSE(bitrate_bps(80, 6825, 1.5, note));  // minidlna Ogg: kbit/s
    EXPECT_FALSE(bitrate_bps(10'000'000'000, 1000, 1.0, note));
    EXPECT_FALSE(bitrate_bps(0, std::nullopt, std::nullopt, note));
    EXPECT_FALSE(bitrate_bps(18446744073709551615ull, std::nullopt, std::nullopt, note));
}

TEST(DidlValues, TruncateUtf8KeepsSequencesWhole) {
    EXPECT_EQ(truncate_utf8("abc", 5), "abc");
    EXPECT_EQ(truncate_utf8("\xC3\x9C\xC3\x9C", 3), "\xC3\x9C");  // ÜÜ
    EXPECT_EQ(truncate_utf8("a\xE2\x82\xAC", 3), "a");             // a€
}

TEST(DidlValues, BestResource) {
    std::vector<ResourceCandidate> c = {
        {"http://h/thumb.jpg", "http-get", "image/jpeg", false, 999},
        {"http://h/transcode.mpg", "http-get", "video/mpeg", true, 888},
        {"file:///srv/v.mp4", "internal", "video/mp4", false, 10'000},
        {"http://h/rtsp", "rtsp-rtp-udp", "video/mp4", false, 777},
        {"http://h/small.mp4", "http-get", "video/mp4", false, 5},
        {"http://h/original.mp4", "http-get", "video/mp4", false, 6},
        {"http://h/same.mp4", "http-get", "video/mp4", false, 6},
    };
    EXPECT_EQ(best_resource(c, "video"), 5u);  // largest original http-get; ties keep the first
    EXPECT_EQ(best_resource(c, "other"), 0u);  // no class preference: largest original http-get
    EXPECT_FALSE(best_resource({{"file:///a", "internal", "audio/mpeg", false, 1}}, "audio"));
    EXPECT_FALSE(best_resource({}, "audio"));
}

// ---------------------------------------------------------------- recorded: minidlna 1.3.0

TEST(DidlRecorded, MinidlnaRoot) {
    auto r = parse_file("minidlna_root.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    EXPECT_TRUE(r->warnings.empty());
    ASSERT_EQ(r->objects.size(), 4u);
    const char* ids[] = {"64", "1", "3", "2"};
    const char* titles[] = {"Browse Folders", "Music", "Pictures", "Video"};
    const std::uint32_t counts[] = {3, 7, 5, 3};
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(r->objects[i].is_container);
        EXPECT_EQ(r->objects[i].id, ids[i]);
        EXPECT_EQ(r->objects[i].parent_id, "0");
        EXPECT_EQ(r->objects[i].title, titles[i]);
        EXPECT_EQ(r->objects[i].child_count, counts[i]);
        EXPECT_EQ(r->objects[i].upnp_class, "object.container.storageFolder");
        EXPECT_EQ(r->objects[i].cls, "");
    }
}

TEST(DidlRecorded, MinidlnaAlbum) {
    auto r = parse_file("minidlna_album.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 3u);
    const MediaObject& a = r->objects[0];
    EXPECT_FALSE(a.is_container);
    EXPECT_EQ(a.id, "1$7$0$0");
    EXPECT_EQ(a.parent_id, "1$7$0");
    EXPECT_EQ(a.title, "\xC3\x84rger \xC3\xBC" "ber Caf\xC3\xA9");  // Ärger über Café
    EXPECT_EQ(a.upnp_class, "object.item.audioItem.musicTrack");
    EXPECT_EQ(a.cls, "audio");
    EXPECT_EQ(a.artist, "Testband");
    EXPECT_EQ(a.creator, "Testband");
    EXPECT_EQ(a.album, "Testalbum");
    EXPECT_EQ(a.genre, "Metal");
    EXPECT_EQ(a.track_number, 1);
    EXPECT_EQ(a.release_date, "2007-01-01");  // minidlna turns the year tag into Jan 1
    EXPECT_EQ(a.date, "");
    EXPECT_EQ(a.duration_s, 3.552);
    EXPECT_EQ(a.size, 67619u);
    EXPECT_EQ(a.mime_type, "audio/mpeg");
    EXPECT_EQ(a.bitrate_bps, 128000u);  // minidlna writes bit/s for audio
    EXPECT_EQ(a.res_url, "http://127.0.0.1:8200/MediaItems/22.mp3");
    EXPECT_EQ(a.album_art_url, "http://127.0.0.1:8200/AlbumArt/2-22.jpg");
    EXPECT_TRUE(has_warning(r, "read as bit/s"));

    const MediaObject& flac = r->objects[1];
    EXPECT_EQ(flac.title, "Flac Track");
    EXPECT_EQ(flac.track_number, 3);
    EXPECT_EQ(flac.duration_s, 4.25);
    EXPECT_EQ(flac.mime_type, "audio/x-flac");
    EXPECT_EQ(flac.size, 116867u);

    const MediaObject& odd = r->objects[2];
    EXPECT_EQ(odd.id, "1$7$0$2");
    EXPECT_EQ(odd.title, "a&b<c>'d\"");
    EXPECT_EQ(odd.track_number, 2);
    EXPECT_EQ(odd.duration_s, 2.063);
    EXPECT_EQ(odd.size, 33170u);
}

TEST(DidlRecorded, MinidlnaAllMusicOggAndCyrillic) {
    auto r = parse_file("minidlna_allmusic.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 4u);
    const MediaObject& ogg = by_id(r, "1$4$2");
    EXPECT_EQ(ogg.title, "Ogg \xC5\x9Aong");  // Ogg Śong
    EXPECT_EQ(ogg.artist, "\xD0\x94\xD1\x80\xD1\x83\xD0\xB3\xD0\xB0\xD1\x8F \xD0\x93\xD1\x80\xD1\x83\xD0\xBF\xD0\xBF\xD0\xB0");
    EXPECT_EQ(ogg.album, "Zweites Album");
    EXPECT_EQ(ogg.track_number, 7);
    EXPECT_EQ(ogg.release_date, "2019-01-01");
    EXPECT_EQ(ogg.duration_s, 1.5);
    EXPECT_EQ(ogg.mime_type, "audio/ogg");
    EXPECT_FALSE(ogg.bitrate_bps.has_value());  // "80" (kbit/s) is not a byte rate of this file
    EXPECT_TRUE(has_warning(r, "'80' left out"));
}

TEST(DidlRecorded, MinidlnaPictureChoosesOriginalOverResizedCopy) {
    auto r = parse_file("minidlna_pictures.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 1u);
    const MediaObject& p = r->objects[0];
    EXPECT_EQ(p.cls, "image");
    EXPECT_EQ(p.title, "photo");
    // Second <res> is the 160x120 thumbnail with DLNA.ORG_CI=1.
    EXPECT_EQ(p.res_url, "http://127.0.0.1:8200/MediaItems/39.jpg");
    EXPECT_EQ(p.resolution, "640x480");
    EXPECT_EQ(p.size, 16877u);
    EXPECT_EQ(p.mime_type, "image/jpeg");
    EXPECT_FALSE(p.duration_s.has_value());
}

TEST(DidlRecorded, MinidlnaVideo) {
    auto r = parse_file("minidlna_videos.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 1u);
    const MediaObject& v = r->objects[0];
    EXPECT_EQ(v.id, "2$8$0");
    EXPECT_EQ(v.cls, "video");
    EXPECT_EQ(v.title, "Test Video");
    EXPECT_EQ(v.date, "2026-11-23T20:06:50");
    EXPECT_EQ(v.release_date, "");
    EXPECT_EQ(v.duration_s, 2.0);
    EXPECT_EQ(v.size, 32036u);
    EXPECT_EQ(v.mime_type, "video/mp4");
    EXPECT_EQ(v.resolution, "320x240");
    EXPECT_EQ(v.bitrate_bps, 16018u * 8);  // video: bytes/s, as UPnP says
}

TEST(DidlRecorded, MinidlnaAlbumContainersAndMetadata) {
    auto r = parse_file("minidlna_albums.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 2u);
    EXPECT_EQ(r->objects[0].id, "1$7$0");
    EXPECT_EQ(r->objects[0].title, "Testalbum");
    EXPECT_EQ(r->objects[0].upnp_class, "object.container.album.musicAlbum");
    EXPECT_EQ(r->objects[0].child_count, 3u);
    EXPECT_EQ(r->objects[0].album_art_url, "http://127.0.0.1:8200/AlbumArt/2-23.jpg");
    EXPECT_EQ(r->objects[1].child_count, 1u);

    auto m = parse_file("minidlna_item_metadata.xml");
    ASSERT_TRUE(m.ok()) << m.error().text;
    ASSERT_EQ(m->objects.size(), 1u);
    EXPECT_EQ(m->objects[0].id, "1$7$0$0");
    EXPECT_EQ(m->objects[0].res_url, "http://127.0.0.1:8200/MediaItems/22.mp3");
}

// ---------------------------------------------------------------- recorded: Gerbera 1.1.0

TEST(DidlRecorded, GerberaAlbum) {
    auto r = parse_file("gerbera_album.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    EXPECT_TRUE(r->warnings.empty());
    ASSERT_EQ(r->objects.size(), 3u);
    const MediaObject& flac = by_id(r, "18");
    EXPECT_EQ(flac.parent_id, "17");
    EXPECT_EQ(flac.title, "Flac Track");
    EXPECT_EQ(flac.description, "Processed by SoX");
    EXPECT_EQ(flac.release_date, "2007-05-04");
    EXPECT_EQ(flac.duration_s, 4.2);  // Gerbera cuts to one decimal
    EXPECT_EQ(flac.mime_type, "audio/flac");
    EXPECT_EQ(flac.bitrate_bps, 27498u * 8);
    EXPECT_EQ(flac.res_url, "http://127.0.0.1:49200/content/media/object_id/18/res_id/0/ext/file.flac");
    EXPECT_EQ(flac.album_art_url, "http://127.0.0.1:49200/content/media/object_id/63/res_id/0");

    const MediaObject& mp3 = by_id(r, "58");
    EXPECT_EQ(mp3.title, "\xC3\x84rger \xC3\xBC" "ber Caf\xC3\xA9");
    EXPECT_EQ(mp3.track_number, 1);
    EXPECT_EQ(mp3.duration_s, 3.5);
    EXPECT_EQ(mp3.size, 67619u);
    EXPECT_EQ(mp3.resolution, "200x200");  // Gerbera puts the embedded cover's size on the audio <res>
    // Two upnp:albumArtURI: the embedded picture first, then the folder's Cover.jpg.
    EXPECT_EQ(mp3.album_art_url, "http://127.0.0.1:49200/content/media/object_id/58/res_id/1/rct/aa");

    const MediaObject& odd = by_id(r, "33");
    EXPECT_EQ(odd.title, "a&b<c>'d\"");
    EXPECT_EQ(odd.duration_s, 2.0);
}

TEST(DidlRecorded, GerberaContainers) {
    auto root = parse_file("gerbera_root_metadata.xml");
    ASSERT_TRUE(root.ok()) << root.error().text;
    ASSERT_EQ(root->objects.size(), 1u);
    EXPECT_EQ(root->objects[0].id, "0");
    EXPECT_EQ(root->objects[0].parent_id, "");  // UPnP's "-1": the root has no parent
    EXPECT_EQ(root->objects[0].title, "Root");
    EXPECT_EQ(root->objects[0].child_count, 4u);

    auto albums = parse_file("gerbera_albums.xml");
    ASSERT_TRUE(albums.ok()) << albums.error().text;
    const MediaObject& z = by_id(albums, "45");
    EXPECT_EQ(z.title, "Zweites Album");
    EXPECT_EQ(z.creator, z.artist);  // no upnp:artist: artist falls back to dc:creator
    EXPECT_FALSE(z.artist.empty());

    auto top = parse_file("gerbera_root.xml");
    ASSERT_TRUE(top.ok());
    ASSERT_EQ(top->objects.size(), 4u);
    EXPECT_EQ(by_id(top, "7").title, "Audio");
    EXPECT_EQ(by_id(top, "7").child_count, 6u);
}

TEST(DidlRecorded, GerberaPhotosAndVideo) {
    auto p = parse_file("gerbera_photos.xml");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(by_id(p, "73").cls, "image");
    EXPECT_EQ(by_id(p, "73").resolution, "640x480");
    auto v = parse_file("gerbera_videos.xml");
    ASSERT_TRUE(v.ok());
    const MediaObject& clip = by_id(v, "80");
    EXPECT_EQ(clip.title, "clip.mp4");
    EXPECT_EQ(clip.duration_s, 2.0);
    EXPECT_EQ(clip.bitrate_bps, 16018u * 8);
    EXPECT_EQ(clip.resolution, "320x240");
}

// ---------------------------------------------------------------- recorded: Rygel 0.42.1 (media-export)

TEST(DidlRecorded, RygelAlbumPicksPrimaryHttpOverTranscodesAndInternal) {
    auto r = parse_file("rygel_album.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 3u);
    const MediaObject& a = r->objects[0];
    EXPECT_EQ(a.id, "virtual-id:b6327cce7dc846841a02024b2e284e16:ecb8d32c3d2c8a52bf974c421288a39e");
    EXPECT_EQ(a.parent_id, "virtual-container:b6327cce7dc846841a02024b2e284e16");
    EXPECT_EQ(a.title, "\xC3\x84rger \xC3\xBC" "ber Caf\xC3\xA9");
    EXPECT_EQ(a.track_number, 1);
    EXPECT_EQ(a.album, "Testalbum");
    // primary_http (original) — not MP3/AAC/LPCM (DLNA.ORG_CI=1), not internal file://.
    EXPECT_EQ(a.res_url.substr(a.res_url.size() - 21), "/res/primary_http.mp3");
    EXPECT_EQ(a.res_url.rfind("http://127.0.0.1:49300/MediaExport/i/", 0), 0u);
    EXPECT_EQ(a.mime_type, "audio/mpeg");
    EXPECT_EQ(a.size, 67619u);
    EXPECT_EQ(a.duration_s, 3.0);  // Rygel rounds down to whole seconds
    // Rygel gives a local client file:// album art: never offered.
    EXPECT_EQ(a.album_art_url, "");
    EXPECT_TRUE(has_warning(r, "no http(s) upnp:albumArtURI"));
    EXPECT_EQ(r->objects[1].title, "a&b<c>'d\"");
}

TEST(DidlRecorded, RygelVideoRootAndEmpty) {
    auto v = parse_file("rygel_videos.xml");
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v->objects.size(), 1u);
    EXPECT_EQ(v->objects[0].cls, "video");
    EXPECT_EQ(v->objects[0].res_url.substr(v->objects[0].res_url.size() - 21), "/res/primary_http.mp4");
    EXPECT_EQ(v->objects[0].bitrate_bps, 8723u * 8);
    EXPECT_EQ(v->objects[0].resolution, "320x240");
    EXPECT_EQ(v->objects[0].date, "2026-11-23T20:06:50Z");

    auto root = parse_file("rygel_root.xml");
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(root->objects.size(), 5u);
    EXPECT_EQ(root->objects[0].id, "Filesystem");
    EXPECT_EQ(root->objects[0].title, "Files & Folders");
    EXPECT_EQ(root->objects[0].child_count, 3u);
    EXPECT_EQ(by_id(root, "virtual-parent:object.item.playlistItem").child_count, 0u);
    for (const auto& c : root->objects) EXPECT_EQ(c.res_url, "");  // container <res> are playlists, not media

    auto empty = parse_file("rygel_empty.xml");  // <DIDL-Lite .../>
    ASSERT_TRUE(empty.ok()) << empty.error().text;
    EXPECT_TRUE(empty->objects.empty());
    EXPECT_TRUE(empty->warnings.empty());
}

// ---------------------------------------------------------------- every recorded file

class EveryRecordedFile : public testing::TestWithParam<const char*> {};

TEST_P(EveryRecordedFile, MapsWithoutLeakingLanUrls) {
    auto r = parse_file(GetParam());
    ASSERT_TRUE(r.ok()) << r.error().text;
    TransferTable t;
    std::string xml = serialize_all(r, t);
    expect_no_lan_urls(xml);
    for (const auto& o : r->objects) {
        EXPECT_FALSE(o.id.empty());
        EXPECT_FALSE(o.title.empty()) << o.id;
        if (!o.is_container) {
            EXPECT_TRUE(o.cls == "audio" || o.cls == "video" || o.cls == "image") << o.id;
            EXPECT_TRUE(is_fetchable_url(o.res_url)) << o.id;
            EXPECT_EQ(t.resolve(TransferTable::media_uid(o.id)), o.res_url);
            EXPECT_NE(xml.find("?transfer;uid=" + percent_encode(o.id) + "<"), std::string::npos) << o.id;
        }
        if (!o.album_art_url.empty()) {
            EXPECT_EQ(t.resolve(TransferTable::cover_uid(o.id)), o.album_art_url);
            EXPECT_NE(xml.find("?transfer;uid=c-" + percent_encode(o.id) + "<"), std::string::npos) << o.id;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Didl, EveryRecordedFile,
    testing::Values("minidlna_root.xml", "minidlna_albums.xml", "minidlna_album.xml", "minidlna_allmusic.xml",
                    "minidlna_item_metadata.xml", "minidlna_pictures.xml", "minidlna_videos.xml", "gerbera_root.xml",
                    "gerbera_root_metadata.xml", "gerbera_albums.xml", "gerbera_album.xml", "gerbera_allaudio.xml",
                    "gerbera_item_metadata.xml", "gerbera_photos.xml", "gerbera_videos.xml", "rygel_root.xml",
                    "rygel_albums.xml", "rygel_album.xml", "rygel_item_metadata.xml", "rygel_videos.xml",
                    "rygel_photos.xml", "rygel_folder.xml", "rygel_empty.xml"));

// ---------------------------------------------------------------- <item>/<container> output

TEST(DidlMetadata, ExactItemFromRecordedMinidlna) {
    auto r = parse_file("minidlna_album.xml");
    ASSERT_TRUE(r.ok());
    TransferTable t;
    EXPECT_EQ(to_metadata(r->objects[0], t, kJid).to_string(),
              "<item xmlns='urn:xmpp:media:metadata:0' id='1$7$0$0' parent='1$7$0'>"
              "<class>audio</class><title>\xC3\x84rger \xC3\xBC" "ber Caf\xC3\xA9</title><artist>Testband</artist>"
              "<album>Testalbum</album><genre>Metal</genre><track-number>1</track-number>"
              "<release-date>2007-01-01</release-date><duration>3.552</duration><size>67619</size>"
              "<mime-type>audio/mpeg</mime-type><bitrate>128000</bitrate>"
              "<cover-album>xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=c-1%247%240%240</cover-album>"
              "<uri>xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=1%247%240%240</uri></item>");
    EXPECT_EQ(t.resolve("1$7$0$0"), "http://127.0.0.1:8200/MediaItems/22.mp3");
    EXPECT_EQ(t.resolve("c-1$7$0$0"), "http://127.0.0.1:8200/AlbumArt/2-22.jpg");

    // The &<>'" title is escaped, not dropped.
    EXPECT_NE(to_metadata(r->objects[2], t, kJid).to_string().find("<title>a&amp;b&lt;c&gt;&apos;d&quot;</title>"),
              std::string::npos);
}

TEST(DidlMetadata, ExactContainerFromRecordedMinidlna) {
    auto r = parse_file("minidlna_albums.xml");
    ASSERT_TRUE(r.ok());
    TransferTable t;
    // As a child of the result <container> (same namespace: no xmlns).
    EXPECT_EQ(to_metadata(r->objects[0], t, kJid).to_string(kMetadataNs),
              "<container id='1$7$0' parent='1$7' child-count='3'><title>Testalbum</title>"
              "<cover-album>xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=c-1%247%240</cover-album></container>");
    EXPECT_EQ(t.resolve("c-1$7$0"), "http://127.0.0.1:8200/AlbumArt/2-23.jpg");
    EXPECT_EQ(t.size(), 1u);
}

TEST(DidlMetadata, WireProfileExampleEndToEnd) {
    // The §5 example item, as a server would describe it.
    std::string didl = kDidlOpen +
                       "<item id=\"64$3$2\" parentID=\"64$3\" restricted=\"1\">"
                       "<dc:title>The Poet And The Pendulum</dc:title>"
                       "<upnp:class>object.item.audioItem.musicTrack</upnp:class>"
                       "<upnp:artist>Nightwish</upnp:artist><upnp:album>Dark Passion Play</upnp:album>"
                       "<upnp:genre>Metal</upnp:genre><upnp:originalTrackNumber>1</upnp:originalTrackNumber>"
                       "<dc:date>2007</dc:date>"
                       "<res protocolInfo=\"http-get:*:audio/mpeg:DLNA.ORG_PN=MP3;DLNA.ORG_CI=0\" size=\"19923010\" "
                       "duration=\"0:13:50.5\">http://192.168.1.20:8200/MediaItems/812.mp3</res>"
                       "<upnp:albumArtURI>http://192.168.1.20:8200/AlbumArt/33-812.jpg</upnp:albumArtURI>"
                       "</item></DIDL-Lite>";
    auto r = parse_didl(didl);
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 1u);
    TransferTable t;
    EXPECT_EQ(to_metadata(r->objects[0], t, "BARE/upnp-3fa2c1d0").to_string(kMetadataNs),
              "<item id='64$3$2' parent='64$3'>"
              "<class>audio</class>"
              "<title>The Poet And The Pendulum</title>"
              "<artist>Nightwish</artist>"
              "<album>Dark Passion Play</album>"
              "<genre>Metal</genre>"
              "<track-number>1</track-number>"
              "<release-date>2007</release-date>"
              "<duration>830.5</duration>"
              "<size>19923010</size>"
              "<mime-type>audio/mpeg</mime-type>"
              "<cover-album>xmpp:BARE/upnp-3fa2c1d0?transfer;uid=c-64%243%242</cover-album>"
              "<uri>xmpp:BARE/upnp-3fa2c1d0?transfer;uid=64%243%242</uri>"
              "</item>");
    EXPECT_EQ(t.resolve("64$3$2"), "http://192.168.1.20:8200/MediaItems/812.mp3");
}

TEST(DidlMetadata, OptionalElementsAndSearchResults) {
    MediaObject o;
    o.id = "v1";
    o.parent_id = "v";
    o.title = "Clip";
    o.cls = "video";
    o.artist = "A";
    o.creator = "C";
    o.description = "D";
    o.date = "2026-11-23T20:06:50Z";
    o.duration_s = 12.0;
    o.resolution = "1920x1080";
    o.bitrate_bps = 8000000;
    TransferTable t;
    EXPECT_EQ(to_metadata(o, t, kJid, /*include_ids=*/false).to_string(kMetadataNs),
              "<item><class>video</class><title>Clip</title><artist>A</artist><date>2026-11-23T20:06:50Z</date>"
              "<creator>C</creator><description>D</description><duration>12</duration>"
              "<resolution>1920x1080</resolution><bitrate>8000000</bitrate></item>");
    EXPECT_EQ(t.size(), 0u);  // no res, no cover: nothing to transfer

    o.creator = "A";  // same as artist: not repeated
    EXPECT_EQ(to_metadata(o, t, kJid).to_string(kMetadataNs).find("<creator>"), std::string::npos);
}

TEST(DidlMetadata, PercentEncodingOfUids) {
    EXPECT_EQ(percent_encode("64$3$2"), "64%243%242");
    EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(percent_encode("a b/c?d#e;f=g&h%i+j:k@l"), "a%20b%2Fc%3Fd%23e%3Bf%3Dg%26h%25i%2Bj%3Ak%40l");
    EXPECT_EQ(percent_encode("\xC3\xBC"), "%C3%BC");  // ü, bytewise
    EXPECT_EQ(transfer_uri("home@example.org/upnp-3fa2c1d0", "virtual-id:1"),
              "xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=virtual-id%3A1");
    EXPECT_EQ(transfer_uri("h@x/res?;#", "1"), "xmpp:h@x/res%3F%3B%23?transfer;uid=1");
}

// ---------------------------------------------------------------- transfer table

TEST(TransferTable, UidsAreStableAndUrlsUpdate) {
    TransferTable t;
    EXPECT_EQ(t.add_media("64$3$2", "http://nas/a.mp3"), "64$3$2");
    EXPECT_EQ(t.add_media("64$3$2", "http://nas/a.mp3"), "64$3$2");
    EXPECT_EQ(t.add_cover("64$3$2", "http://nas/a.jpg"), "c-64$3$2");
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.add_media("64$3$2", "http://nas2/a.mp3"), "64$3$2");
    EXPECT_EQ(t.resolve("64$3$2"), "http://nas2/a.mp3");
    EXPECT_EQ(t.resolve("c-64$3$2"), "http://nas/a.jpg");
    EXPECT_FALSE(t.resolve("nope").has_value());
    EXPECT_EQ(t.size(), 2u);
}

TEST(TransferTable, MediaAndCoverUidsNeverCollide) {
    TransferTable t;
    std::string cover_of_5 = t.add_cover("5", "http://nas/cover5.jpg");
    std::string media_c5 = t.add_media("c-5", "http://nas/c5.mp3");  // an object whose id looks like a cover uid
    std::string media_mc5 = t.add_media("m-c-5", "http://nas/mc5.mp3");
    EXPECT_EQ(cover_of_5, "c-5");
    EXPECT_EQ(media_c5, "m-c-5");
    EXPECT_EQ(media_mc5, "m-m-c-5");
    EXPECT_EQ(t.resolve("c-5"), "http://nas/cover5.jpg");
    EXPECT_EQ(t.resolve("m-c-5"), "http://nas/c5.mp3");
    EXPECT_EQ(t.resolve("m-m-c-5"), "http://nas/mc5.mp3");
    // The object each uid was made for (the transfer profile's grant check).
    EXPECT_EQ(TransferTable::object_of(cover_of_5), "5");
    EXPECT_EQ(TransferTable::object_of(media_c5), "c-5");
    EXPECT_EQ(TransferTable::object_of(media_mc5), "m-c-5");
    EXPECT_EQ(TransferTable::object_of("64$3$2"), "64$3$2");
}

TEST(TransferTable, EvictsOldestBeyondEntryCap) {
    TransferTable t(3);
    t.add_media("a", "http://nas/a");
    t.add_media("b", "http://nas/b");
    t.add_media("c", "http://nas/c");
    t.add_media("a", "http://nas/a2");  // refreshed: now the newest
    t.add_media("d", "http://nas/d");   // evicts b, the oldest
    EXPECT_EQ(t.size(), 3u);
    EXPECT_FALSE(t.resolve("b").has_value());
    EXPECT_EQ(t.resolve("a"), "http://nas/a2");
    EXPECT_TRUE(t.resolve("c").has_value());
    EXPECT_TRUE(t.resolve("d").has_value());

    TransferTable big;  // default cap: 200 000
    for (int i = 0; i < 200'100; ++i) big.add_media(std::to_string(i), "http://nas/x");
    EXPECT_EQ(big.size(), 200'000u);
    EXPECT_FALSE(big.resolve("99").has_value());
    EXPECT_TRUE(big.resolve("100").has_value());
}

TEST(TransferTable, EvictsBeyondByteCap) {
    TransferTable t(1000, 4096);
    std::string url = "http://nas/" + std::string(1000, 'u');
    for (int i = 0; i < 10; ++i) t.add_media(std::to_string(i), url);
    EXPECT_LE(t.size(), 4u);
    EXPECT_TRUE(t.resolve("9").has_value());
    EXPECT_FALSE(t.resolve("0").has_value());
    t.add_media("huge", "http://nas/" + std::string(10000, 'h'));  // alone over the cap: kept, the rest goes
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(t.resolve("huge").has_value());
}

// ---------------------------------------------------------------- hostile input

TEST(DidlHostile, EntityDeclarationsAreRefusedUpFront) {
    for (const char* f : {"hostile_billion_laughs.xml", "hostile_external_entity.xml", "hostile_external_dtd.xml"}) {
        auto r = parse_file(f);
        EXPECT_FALSE(r.ok()) << f;
        EXPECT_NE(r.error().text.find("DTD"), std::string::npos) << f;
    }
    // Comments and CDATA are fine.
    auto r = parse_didl(kDidlOpen + "<!-- hi --><item id=\"1\" parentID=\"0\" restricted=\"1\">"
                                    "<dc:title><![CDATA[A <b> & c]]></dc:title></item></DIDL-Lite>");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 1u);
    EXPECT_EQ(r->objects[0].title, "A <b> & c");
    // An <!ELEMENT> or a lower-case <!doctype> is refused as well.
    EXPECT_FALSE(parse_didl("<!doctype x>" + kDidlOpen + "</DIDL-Lite>").ok());
    EXPECT_FALSE(parse_didl(kDidlOpen + "<!ELEMENT x ANY></DIDL-Lite>").ok());
}

TEST(DidlHostile, NotDidl) {
    auto w = parse_file("hostile_wrong_namespace.xml");
    EXPECT_FALSE(w.ok());
    EXPECT_NE(w.error().text.find("namespace"), std::string::npos);

    auto n = parse_file("hostile_not_xml.xml");
    EXPECT_FALSE(n.ok());
    EXPECT_FALSE(n.error().text.empty());
    EXPECT_LT(n.error().text.size(), 300u);  // gupnp-av's message repeats the document: not copied

    EXPECT_FALSE(parse_didl("").ok());
    EXPECT_FALSE(parse_didl("<foo/>").ok());
    EXPECT_FALSE(parse_didl(std::string("<DIDL-Lite>\0</DIDL-Lite>", 24)).ok());  // NUL byte
}

TEST(DidlHostile, DocumentSizeLimit) {
    DidlLimits small;
    small.max_document_bytes = 100;
    auto r = parse_file("minidlna_root.xml", small);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error().text.find("exceeds"), std::string::npos);
    EXPECT_FALSE(parse_didl(std::string(8 * 1024 * 1024 + 1, ' ')).ok());
}

TEST(DidlHostile, MissingIdsAndTitles) {
    auto r = parse_file("hostile_missing_ids.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 3u);  // no id, empty id and the foreign-namespace element are left out
    EXPECT_EQ(r->objects[0].id, "no-title");
    EXPECT_EQ(r->objects[0].title, "");
    EXPECT_EQ(r->objects[1].id, "no-parent");
    EXPECT_EQ(r->objects[1].parent_id, "");
    EXPECT_EQ(r->objects[2].id, "ok");
    EXPECT_TRUE(has_warning(r, "has no id"));
    EXPECT_TRUE(has_warning(r, "no dc:title"));
    EXPECT_TRUE(has_warning(r, "no parentID"));
    EXPECT_TRUE(has_warning(r, "not in the DIDL-Lite namespace"));
    TransferTable t;
    EXPECT_EQ(to_metadata(r->objects[1], t, kJid).to_string(kMetadataNs),
              "<container id='no-parent'><title>No parent</title></container>");
    std::string untitled = to_metadata(r->objects[0], t, kJid).to_string(kMetadataNs);
    EXPECT_EQ(untitled.find("<title"), std::string::npos);
    expect_no_lan_urls(untitled);
}

TEST(DidlHostile, BadNumbersAreLeftOutWithWarnings) {
    auto r = parse_file("hostile_bad_numbers.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 6u);
    for (const char* id : {"bad", "overflow", "garbage"}) {
        const MediaObject& o = by_id(r, id);
        EXPECT_FALSE(o.track_number) << id;
        EXPECT_FALSE(o.size) << id;
        EXPECT_FALSE(o.duration_s) << id;
        EXPECT_FALSE(o.bitrate_bps) << id;
        EXPECT_EQ(o.resolution, "") << id;
        EXPECT_FALSE(o.res_url.empty()) << id;  // the resource itself is still offered
    }
    EXPECT_EQ(by_id(r, "bad").release_date, "");
    EXPECT_EQ(by_id(r, "bad").date, "");
    EXPECT_FALSE(by_id(r, "cc").child_count);
    for (const char* w : {"'abc'", "'-5'", "'-0:00:01'", "'NaN'", "'0x480'", "'2007-13-45'", "'99999999999999999999'",
                          "'1:99:00'", "'axb'", "overflow", "'12abc'", "'0:00:01.5/0'", "'1e3'", "'640x480x3'", "'0'",
                          "childCount '-3'"})
        EXPECT_TRUE(has_warning(r, w)) << w;

    const MediaObject& good = by_id(r, "good");
    EXPECT_EQ(good.track_number, 7);
    EXPECT_EQ(good.duration_s, 830.5);
    EXPECT_EQ(good.size, 19923010u);
    EXPECT_EQ(good.bitrate_bps, 192000u);
    EXPECT_EQ(by_id(r, "frac").duration_s, 3600.25);
    EXPECT_EQ(by_id(r, "frac").resolution, "1920x1080");
}

TEST(DidlHostile, TenThousandItemsAreTruncated) {
    auto r = parse_file("hostile_10000_items.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 5000u);
    EXPECT_EQ(r->objects.front().id, "0");
    EXPECT_EQ(r->objects.back().id, "4999");
    EXPECT_TRUE(has_warning(r, "5000 more left out"));

    DidlLimits few;
    few.max_objects = 10;
    auto f = parse_file("hostile_10000_items.xml", few);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->objects.size(), 10u);
    EXPECT_TRUE(has_warning(f, "9990 more left out"));
}

TEST(DidlHostile, WarningsAreBounded) {
    std::string didl = kDidlOpen;
    for (int i = 0; i < 500; ++i)
        didl += "<item id=\"" + std::to_string(i) +
                "\" parentID=\"0\" restricted=\"1\"><dc:title>t</dc:title><upnp:originalTrackNumber>x"
                "</upnp:originalTrackNumber></item>";
    didl += "</DIDL-Lite>";
    DidlLimits lim;
    lim.max_warnings = 5;
    auto r = parse_didl(didl, lim);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->objects.size(), 500u);
    ASSERT_EQ(r->warnings.size(), 6u);
    EXPECT_EQ(r->warnings.back(), "495 further warnings suppressed");
}

TEST(DidlHostile, DeepNestingAndTruncation) {
    auto d = parse_file("hostile_deep.xml");
    ASSERT_TRUE(d.ok()) << d.error().text;
    EXPECT_EQ(by_id(d, "deep").title, "Deep");
    EXPECT_TRUE(has_warning(d, "depth"));

    auto t = parse_file("hostile_truncated.xml");  // minidlna_album.xml cut inside the third item
    ASSERT_TRUE(t.ok()) << t.error().text;
    ASSERT_EQ(t->objects.size(), 3u);
    EXPECT_EQ(t->objects[1].res_url, "http://127.0.0.1:8200/MediaItems/28.flac");
    EXPECT_EQ(t->objects[2].title, "a&b<c>'d\"");
    EXPECT_EQ(t->objects[2].res_url, "");
    EXPECT_TRUE(has_warning(t, "XML line"));
}

TEST(DidlHostile, HugeValues) {
    auto r = parse_file("hostile_huge_values.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 1u);  // the item with a 70 000-byte id is left out
    const MediaObject& big = r->objects[0];
    EXPECT_EQ(big.id, "big");
    EXPECT_EQ(big.parent_id, "");
    EXPECT_EQ(big.title.size(), 8192u);  // 4096 × "Ü": cut on a character boundary
    EXPECT_EQ(big.title.substr(0, 2), "\xC3\x9C");
    EXPECT_EQ(big.res_url, "http://127.0.0.1:8200/small.mp3");  // the 70 000-byte URL is not offered
    EXPECT_FALSE(big.size);
    EXPECT_TRUE(has_warning(r, "id longer than 1024"));
    EXPECT_TRUE(has_warning(r, "dc:title cut"));
    for (const auto& w : r->warnings) EXPECT_LT(w.size(), 400u);
}

TEST(DidlHostile, InvalidDateStopsGupnpAvWithAWarning) {
    auto r = parse_file("hostile_bad_date.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    ASSERT_EQ(r->objects.size(), 1u);
    EXPECT_EQ(r->objects[0].id, "1");
    EXPECT_TRUE(has_warning(r, "gupnp-av stopped after 1 objects"));
}

TEST(DidlHostile, BadResources) {
    auto r = parse_file("hostile_bad_res.xml");
    ASSERT_TRUE(r.ok()) << r.error().text;
    const MediaObject& local = by_id(r, "local");
    EXPECT_EQ(local.res_url, "");
    EXPECT_EQ(local.album_art_url, "");
    EXPECT_TRUE(has_warning(r, "no <res> fetchable"));
    const MediaObject& mixed = by_id(r, "mixed");
    EXPECT_EQ(mixed.res_url, "http://127.0.0.1:8200/original.mp4");
    EXPECT_EQ(mixed.size, 6000u);
    EXPECT_EQ(mixed.mime_type, "video/mp4");
    EXPECT_EQ(mixed.album_art_url, "HTTP://127.0.0.1:8200/cover.jpg");
    TransferTable t;
    std::string xml = serialize_all(r, t);
    expect_no_lan_urls(xml);
    EXPECT_EQ(xml.find("<uri>", xml.find("id='local'")), xml.find("<uri>", xml.find("id='mixed'")));
}

TEST(DidlHostile, EveryHostileFileIsHandled) {
    for (const char* f : {"hostile_billion_laughs.xml", "hostile_external_entity.xml", "hostile_external_dtd.xml",
                          "hostile_wrong_namespace.xml", "hostile_not_xml.xml", "hostile_missing_ids.xml",
                          "hostile_bad_numbers.xml", "hostile_bad_date.xml", "hostile_bad_res.xml",
                          "hostile_10000_items.xml", "hostile_deep.xml", "hostile_truncated.xml",
                          "hostile_huge_values.xml"}) {
        auto r = parse_file(f);
        EXPECT_TRUE(r.ok() || !r.error().text.empty()) << f;
        if (!r.ok()) continue;
        TransferTable t;
        expect_no_lan_urls(serialize_all(r, t));
    }
}

namespace {
int g_foreign_errors = 0;
void foreign_handler(void*, xmlErrorPtr) { ++g_foreign_errors; }
}  // namespace

TEST(DidlHostile, LibxmlErrorHandlerIsRestored) {
    xmlSetStructuredErrorFunc(nullptr, &foreign_handler);
    auto r = parse_file("hostile_truncated.xml");
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(g_foreign_errors, 0);  // parse errors went into warnings
    EXPECT_EQ(xmlStructuredError, &foreign_handler);
    xmlSetStructuredErrorFunc(nullptr, nullptr);
}
