// A player's file:// cover art (wire profile §7.3, §6.1): the mapping puts a
// transfer URI of the device on the wire, never the path; CoverArt keeps
// only the files the player announced (bounded), serves regular files up to
// its size limit with ranges, and knows no other uid.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "adapters/mpris/cover_art.hpp"
#include "mappings/mpris/mpris_metadata.hpp"

using namespace xpmn;
using mpris::CoverArt;

namespace {

const char* kDevice = "home@example.org/mpris-mpv";
const std::string kJpeg = std::string("\xFF\xD8\xFF\xE0", 4) + "0123456789";

struct CoverArtTest : ::testing::Test {
    boost::asio::io_context io;
    std::filesystem::path dir;
    void SetUp() override {
        char tmpl[] = "/tmp/xpmn-cover-XXXXXX";
        ASSERT_TRUE(::mkdtemp(tmpl));
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string file(const std::string& name, const std::string& data) {
        auto p = dir / name;
        std::ofstream(p, std::ios::binary) << data;
        return p.string();
    }
    static std::string url(const std::string& path) { return "file://" + path; }
    // Opens uid [from, to] and reads everything: (media, bytes) or the error.
    Result<std::pair<profiles::OpenedMedia, std::string>> fetch(CoverArt& art, const std::string& uid,
                                                                 std::optional<std::uint64_t> from = {},
                                                                 std::optional<std::uint64_t> to = {}) {
        std::optional<Result<profiles::OpenedMedia>> opened;
        art.open({uid, from, to}, [&](Result<profiles::OpenedMedia> r) { opened = std::move(r); });
        EXPECT_FALSE(opened);  // never inside the call
        io.restart();
        io.run();
        if (!opened) return Error{"none", "no answer"};
        if (!*opened) return opened->error();
        auto media = std::move(*opened).value();
        std::string data;
        for (bool end = false; !end;) {
            media.source->read(65536, [&](Result<std::string> r) {
                end = !r || r->empty();
                if (r) data += *r;
            });
            io.restart();
            io.run();
        }
        return std::make_pair(std::move(media), data);
    }
    static std::string uid_of(const std::string& uri) { return uri.substr(uri.find("uid=") + 4); }
};

}  // namespace

TEST(MprisCoverMapping, LocalFilePath) {
    EXPECT_EQ(mappings::local_file_path("file:///music/a%20b/cover.jpg"), "/music/a b/cover.jpg");
    EXPECT_EQ(mappings::local_file_path("FILE://localhost/x.png"), "/x.png");
    EXPECT_FALSE(mappings::local_file_path("file://nas/x.png"));
    EXPECT_FALSE(mappings::local_file_path("file:x.png"));
    EXPECT_FALSE(mappings::local_file_path("file:///a%00b"));
    EXPECT_FALSE(mappings::local_file_path("file:///a%zz"));
    EXPECT_FALSE(mappings::local_file_path("http://x/a.png"));
}

TEST(MprisCoverMapping, TheCoverUriReplacesAFileUrl) {
    mappings::MprisMetadata m;
    m.title = "t";
    m.art_url = "file:///home/u/cover.jpg";
    auto item = mappings::to_metadata_item(m, "xmpp:home@example.org/mpris-mpv?transfer;uid=art-1");
    EXPECT_EQ(item.child_text("cover-album"), "xmpp:home@example.org/mpris-mpv?transfer;uid=art-1");
    EXPECT_EQ(item.to_string().find("/home/u"), std::string::npos);
    m.art_url = "https://example.org/a.jpg";  // an http URL passes as it is
    EXPECT_EQ(mappings::to_metadata_item(m, "xmpp:x").child_text("cover-album"), "https://example.org/a.jpg");
}

TEST_F(CoverArtTest, AnnouncedFilesBecomeUidsOfTheDevice) {
    CoverArt art(io, kDevice);
    const std::string path = file("cover.jpg", kJpeg);
    auto uri = art.announce(url(path));
    ASSERT_TRUE(uri);
    EXPECT_EQ(uri->rfind(std::string("xmpp:") + kDevice + "?transfer;uid=", 0), 0u) << *uri;
    EXPECT_EQ(uri->find(path), std::string::npos);
    EXPECT_EQ(art.announce(url(path)), uri);  // the same file keeps its uid
    EXPECT_FALSE(art.announce("https://example.org/a.jpg"));
    EXPECT_FALSE(art.announce("file://elsewhere/a.jpg"));

    auto got = fetch(art, uid_of(*uri));
    ASSERT_TRUE(got) << got.error().describe();
    EXPECT_EQ(got->second, kJpeg);
    EXPECT_EQ(got->first.total, kJpeg.size());
    EXPECT_EQ(got->first.type, "image/jpeg");
    auto part = fetch(art, uid_of(*uri), 4, 6);
    ASSERT_TRUE(part);
    EXPECT_EQ(part->second, "012");
    EXPECT_EQ(part->first.size, 3u);
    auto beyond = fetch(art, uid_of(*uri), 100);
    ASSERT_FALSE(beyond);
    EXPECT_EQ(beyond.error().condition, "range-not-satisfiable");
}

TEST_F(CoverArtTest, NothingButAnnouncedRegularFilesIsServed) {
    CoverArt art(io, kDevice, 2, 100);
    EXPECT_EQ(fetch(art, "art-1").error().condition, "item-not-found");
    EXPECT_EQ(art.object_of("art-1"), std::nullopt);
    // A path as uid is just an unknown uid.
    EXPECT_EQ(fetch(art, file("x.jpg", kJpeg)).error().condition, "item-not-found");

    const std::string fifo = (dir / "fifo").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(fetch(art, uid_of(*art.announce(url(fifo)))).error().condition, "item-not-found");
    EXPECT_EQ(fetch(art, uid_of(*art.announce(url(dir.string())))).error().condition, "item-not-found");
    EXPECT_EQ(fetch(art, uid_of(*art.announce(url(file("big.jpg", std::string(101, 'x')))))).error().condition,
              "item-not-found");
    const std::string gone = file("gone.jpg", kJpeg);
    auto gone_uri = art.announce(url(gone));
    std::filesystem::remove(gone);
    EXPECT_EQ(fetch(art, uid_of(*gone_uri)).error().condition, "item-not-found");
}

TEST_F(CoverArtTest, TheMapIsBoundedOldestFirst) {
    CoverArt art(io, kDevice, 2);
    auto a = art.announce(url(file("a.jpg", kJpeg)));
    auto b = art.announce(url(file("b.jpg", kJpeg)));
    art.announce(url(dir.string() + "/a.jpg"));  // a is the newest again
    auto c = art.announce(url(file("c.jpg", kJpeg)));
    EXPECT_EQ(art.size(), 2u);
    EXPECT_TRUE(art.object_of(uid_of(*a)));
    EXPECT_FALSE(art.object_of(uid_of(*b)));
    EXPECT_TRUE(art.object_of(uid_of(*c)));
    EXPECT_EQ(mpris::image_type("\x89PNG\r\n\x1A\n...."), "image/png");
    EXPECT_EQ(mpris::image_type("text"), "application/octet-stream");
}
