// Other bridges' servers shown on the LAN: the device description, the
// Browse answers built from Directory profile results, the DIDL-Lite they
// carry, and which trust entries name the accounts whose servers are shown.
#include <gtest/gtest.h>
#include <libxml/parser.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "adapters/upnp/exported_directory.hpp"
#include "adapters/upnp/lan_export_description.hpp"
#include "adapters/upnp/search_criteria.hpp"
#include "bridge/profiles/remote_servers.hpp"
#include "mappings/didl/didl_writer.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/xml/element.hpp"

using namespace xpmn;
using namespace xpmn::upnp;

namespace {

const char* kJid = "home@example.org/upnp-3fa2c1d0";
const char* kUri = "xmpp:home@example.org/upnp-3fa2c1d0?transfer;uid=64%243%242";

bool well_formed(const std::string& xml) {
    xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "x.xml", nullptr, XML_PARSE_NONET);
    if (doc) xmlFreeDoc(doc);
    return doc != nullptr;
}

xml::Element item(const std::string& id, const std::string& parent, const std::string& title) {
    xml::Element i("item", ns::media_metadata);
    i.set_attr("id", id);
    i.set_attr("parent", parent);
    i.add_text_child("class", "audio");
    i.add_text_child("title", title);
    i.add_text_child("artist", "Nightwish");
    i.add_text_child("release-date", "2007");
    i.add_text_child("duration", "830.5");
    i.add_text_child("size", "19923010");
    i.add_text_child("mime-type", "audio/mpeg");
    i.add_text_child("bitrate", "192000");
    i.add_text_child("uri", kUri);
    return i;
}

xml::Element listing(const std::string& id, int total) {
    xml::Element c("container", ns::media_metadata);
    c.set_attr("id", id);
    c.set_attr("parent", "0");
    c.set_attr("start", "0");
    c.set_attr("returned", "2");
    c.set_attr("total", std::to_string(total));
    c.set_attr("update-id", "17");
    c.add_text_child("title", "Albums");
    xml::Element sub("container", ns::media_metadata);
    sub.set_attr("id", id + "$1");
    sub.set_attr("parent", id);
    sub.set_attr("child-count", "12");
    sub.add_text_child("title", "Dark Passion Play");
    c.add_child(sub);
    c.add_child(item(id + "$2", id, "The Poet & The Pendulum"));
    return c;
}

// Pages of 1000 items never seen before, each with a description of `extra` bytes.
std::function<Result<xml::Element>(const xml::Element&)> fresh_pages(std::size_t extra) {
    return [extra, n = std::make_shared<int>(0)](const xml::Element&) -> Result<xml::Element> {
        xml::Element c("container", ns::media_metadata);
        c.set_attr("total", "1000");
        for (int i = 0; i < 1000; ++i) {
            auto object = item(std::to_string((*n)++), "0", "t");
            if (extra) object.add_text_child("description", std::string(extra, 'd'));
            c.add_child(object);
        }
        return c;
    };
}

std::string url_for(const std::string& uri) { return "http://10.0.0.2:8200/" + uri.substr(0, 5); }

// A directory whose server answers from `answer` and records what it was asked.
struct Fixture {
    std::vector<xml::Element> asked;
    std::function<Result<xml::Element>(const xml::Element&)> answer;
    std::shared_ptr<ExportedDirectory> dir = std::make_shared<ExportedDirectory>(
        "Faraway NAS", [this](xml::Element payload, std::function<void(Result<xml::Element>)> done) {
            asked.push_back(payload);
            done(answer(payload));
        });
    // The server answers every request with this error.
    void fail_with(const char* condition, const char* text) {
        answer = [condition, text](const xml::Element&) { return Result<xml::Element>(Error{condition, text}); };
    }
    Result<BrowseAnswer> browse(BrowseArgs args) {
        std::optional<Result<BrowseAnswer>> out;
        dir->browse(args, url_for, [&](Result<BrowseAnswer> r) { out = std::move(r); });
        EXPECT_TRUE(out.has_value());
        return std::move(*out);
    }
};

}  // namespace

TEST(LanExportDescription, StableUniqueUdnAndEscapedName) {
    auto a = exported_device("away@example.org", kJid, "Mum & Dad's <NAS>");
    EXPECT_EQ(a.udn, exported_device("away@example.org", kJid, "other name").udn);  // by JID, not name
    EXPECT_NE(a.udn, exported_device("away@example.org", "home@example.org/upnp-00000000", "x").udn);
    EXPECT_NE(a.udn, exported_device("elsewhere@example.org", kJid, "x").udn);
    EXPECT_TRUE(std::regex_match(a.udn, std::regex("uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << a.udn;
    EXPECT_EQ(a.friendly_name, "Mum & Dad's <NAS> (home@example.org)");
    std::string long_name;
    for (int i = 0; i < 100; ++i) long_name += "\xC3\xA4";  // ä: cut at 64 characters, never inside one
    EXPECT_EQ(exported_device("away@example.org", kJid, long_name).friendly_name,
              long_name.substr(0, 128) + " (home@example.org)");
    auto d = device_description(a);
    EXPECT_TRUE(well_formed(d)) << d;
    EXPECT_NE(d.find("Mum &amp; Dad"), std::string::npos);
    EXPECT_NE(d.find(std::string("<modelName>") + kExportModelName + "</modelName>"), std::string::npos);
    EXPECT_NE(d.find("/xpmn/" + a.key + "/ContentDirectory/control"), std::string::npos);  // paths of its own
}

TEST(LanExportDescription, FilesAreWrittenAndWellFormed) {
    auto dir = std::filesystem::temp_directory_path() / ("xpmn-export-test-" + std::to_string(getpid()));
    prepare_export_dir(dir.string());
    auto device = exported_device("away@example.org", kJid, "NAS");
    write_description(dir.string(), device);
    for (const char* name : {"xpmn-ContentDirectory.xml", "xpmn-ConnectionManager.xml"}) {
        std::ifstream f(dir / name);
        std::string text((std::istreambuf_iterator<char>(f)), {});
        EXPECT_TRUE(well_formed(text)) << name;
    }
    EXPECT_TRUE(std::filesystem::exists(dir / device.file));
    std::filesystem::remove_all(dir);
    EXPECT_THROW(prepare_export_dir("/proc/no-such-dir"), std::runtime_error);
}

TEST(LanExportDidl, ObjectsBecomeDidlWithUrls) {
    auto c = listing("64$3", 2);
    auto didl = mappings::didl_for_objects(c.elements(), "64$3", url_for);
    EXPECT_TRUE(well_formed(didl)) << didl;
    EXPECT_NE(didl.find("id=\"64$3$1\""), std::string::npos);
    EXPECT_NE(didl.find("childCount=\"12\""), std::string::npos);
    EXPECT_NE(didl.find("object.container.storageFolder"), std::string::npos);
    EXPECT_NE(didl.find("The Poet &amp; The Pendulum"), std::string::npos);
    EXPECT_NE(didl.find("object.item.audioItem.musicTrack"), std::string::npos);
    EXPECT_NE(didl.find("http-get:*:audio/mpeg:DLNA.ORG_OP=01"), std::string::npos) << didl;
    EXPECT_NE(didl.find("size=\"19923010\""), std::string::npos);
    EXPECT_NE(didl.find("bitrate=\"24000\""), std::string::npos);  // bytes/s
    EXPECT_NE(didl.find("duration=\"0:13:50"), std::string::npos) << didl;
    EXPECT_NE(didl.find(">http://10.0.0.2:8200/xmpp:<"), std::string::npos);
    EXPECT_EQ(didl.find("home@example.org"), std::string::npos);  // the URL, not the URI
    EXPECT_NE(didl.find("<dc:date>2007</dc:date>"), std::string::npos);
}

TEST(LanExportDidl, ValuesTooLargeForDidlAreLeftOut) {
    xml::Element c("container", ns::media_metadata);
    c.set_attr("id", "1");
    c.set_attr("child-count", "4294967295");
    c.add_text_child("title", "t");
    xml::Element big("item", ns::media_metadata);
    big.set_attr("id", "3");
    big.add_text_child("title", "t");
    big.add_text_child("size", "18446744073709551615");
    big.add_text_child("uri", kUri);
    auto didl = mappings::didl_for_objects({&c, &big}, "0", url_for);
    EXPECT_TRUE(well_formed(didl)) << didl;
    EXPECT_EQ(didl.find("childCount"), std::string::npos) << didl;
    EXPECT_EQ(didl.find("size="), std::string::npos) << didl;
    EXPECT_EQ(didl.find("-1\""), std::string::npos) << didl;
}

TEST(LanExportDidl, AnItemWithoutUriHasNoResource) {
    xml::Element bare("item", ns::media_metadata);
    bare.set_attr("id", "1");
    bare.add_text_child("title", "t");
    auto didl = mappings::didl_for_objects({&bare}, "0", url_for);
    EXPECT_EQ(didl.find("<res"), std::string::npos) << didl;
    EXPECT_NE(didl.find("parentID=\"0\""), std::string::npos);
}

TEST(ExportedDirectory, ChildrenPageFromOneBrowse) {
    Fixture f;
    f.answer = [](const xml::Element&) { return listing("64$3", 30); };
    auto r = f.browse({"64$3", false, 5, 0});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->returned, 2u);
    EXPECT_EQ(r->total, 30u);
    EXPECT_EQ(r->update_id, 17u);
    ASSERT_EQ(f.asked.size(), 1u);
    EXPECT_EQ(f.asked[0].name(), "browse");
    EXPECT_EQ(f.asked[0].attr_or("start"), "5");
    EXPECT_EQ(f.asked[0].attr_or("max"), "1000");  // RequestedCount 0: as many as the profile gives
    ASSERT_TRUE(f.browse({"64$3", false, 0, 5000}));
    EXPECT_EQ(f.asked[1].attr_or("max"), "1000");
    ASSERT_TRUE(f.browse({"64$3", false, 0, 7}));
    EXPECT_EQ(f.asked[2].attr_or("max"), "7");
    EXPECT_EQ(f.dir->system_update_id(), 17u);
}

TEST(ExportedDirectory, MetadataOfRootContainerAndRememberedItem) {
    Fixture f;
    f.answer = [](const xml::Element& b) {
        auto c = listing(b.attr_or("id"), 2);
        if (b.attr_or("id") == "0") c.set_attr("parent", "");
        return c;
    };
    auto root = f.browse({"0", true, 0, 0});
    ASSERT_TRUE(root);
    EXPECT_EQ(root->returned, 1u);
    EXPECT_NE(root->didl.find("parentID=\"-1\""), std::string::npos) << root->didl;
    EXPECT_NE(root->didl.find("<dc:title>Faraway NAS</dc:title>"), std::string::npos) << root->didl;
    EXPECT_NE(root->didl.find("childCount=\"2\""), std::string::npos);
    EXPECT_EQ(f.asked.back().attr_or("max"), "0");

    auto container = f.browse({"64$3", true, 0, 0});
    ASSERT_TRUE(container);
    EXPECT_NE(container->didl.find("<dc:title>Albums</dc:title>"), std::string::npos);
    EXPECT_NE(container->didl.find("parentID=\"0\""), std::string::npos);

    // An item is known from the listing of its container: no request.
    ASSERT_TRUE(f.browse({"64$3", false, 0, 0}));
    auto asked = f.asked.size();
    auto it = f.browse({"64$3$2", true, 0, 0});
    ASSERT_TRUE(it);
    EXPECT_EQ(f.asked.size(), asked);
    EXPECT_NE(it->didl.find("<item id=\"64$3$2\" parentID=\"64$3\""), std::string::npos) << it->didl;
}

TEST(ExportedDirectory, ErrorsBecomeUpnpErrors) {
    Fixture f;
    f.fail_with("item-not-found", "no such id");
    auto r = f.browse({"nope", true, 0, 0});
    ASSERT_FALSE(r);
    EXPECT_EQ(action_error_for(r.error()).code, 701);
    EXPECT_EQ(action_error_for(Error{"bad-request", "x"}).code, 720);
    EXPECT_EQ(action_error_for(Error{"remote-server-timeout", "x"}).code, 501);
    EXPECT_FALSE(f.browse({"", false, 0, 0}));  // no ObjectID: nothing asked
    auto asked = f.asked.size();
    auto long_id = f.browse({std::string(1025, 'x'), false, 0, 0});  // longer than the profile allows
    ASSERT_FALSE(long_id);
    EXPECT_EQ(action_error_for(long_id.error()).code, 701);
    EXPECT_EQ(f.asked.size(), asked);
}

TEST(ExportedDirectory, RemembersABoundedNumberOfObjects) {
    Fixture f;
    f.answer = fresh_pages(0);
    for (int page = 0; page < 6; ++page) ASSERT_TRUE(f.browse({"0", false, 0, 0}));
    EXPECT_EQ(f.dir->remembered(), ExportedDirectory::kMaxRemembered);
}

TEST(ExportedDirectory, RemembersABoundedNumberOfBytes) {
    Fixture f;
    f.answer = fresh_pages(20000);  // 20 kB each
    ASSERT_TRUE(f.browse({"0", false, 0, 0}));
    EXPECT_LE(f.dir->remembered_bytes(), ExportedDirectory::kMaxRememberedBytes);
    EXPECT_GT(f.dir->remembered(), 0u);
    EXPECT_LT(f.dir->remembered(), 1000u);
    // One object too large to keep is not kept (and a metadata request for it asks the server).
    f.answer = [](const xml::Element&) {
        xml::Element c("container", ns::media_metadata);
        auto huge = item("huge", "0", "t");
        huge.add_text_child("description", std::string(ExportedDirectory::kMaxRememberedBytes, 'd'));
        c.add_child(huge);
        return c;
    };
    auto before = f.dir->remembered_bytes();
    ASSERT_TRUE(f.browse({"0", false, 0, 0}));
    EXPECT_EQ(f.dir->remembered_bytes(), before);
}

TEST(RemoteServers, OnlyOtherAccountsDevicesAreWatched) {
    auto path = std::filesystem::temp_directory_path() / ("xpmn-trust-test-" + std::to_string(getpid()) + ".toml");
    xtls::TrustStore trust(path.string());
    auto add = [&](const char* fp, const char* jid, xtls::TrustRole role) {
        xtls::TrustEntry e;
        e.fingerprint = std::string(64, fp[0]);
        e.jid = *Jid::parse(jid);
        e.role = role;
        EXPECT_TRUE(trust.add(e));
    };
    add("a", "home@example.org", xtls::TrustRole::Device);
    add("b", "friend@example.org", xtls::TrustRole::Friend);
    add("c", "away@example.org", xtls::TrustRole::Owner);
    add("d", "away@example.org", xtls::TrustRole::Device);  // the same account: not another home
    auto accounts = profiles::RemoteServers::accounts(trust, *Jid::parse("away@example.org/controller"));
    EXPECT_EQ(accounts, std::set<std::string>{"home@example.org"});
    std::filesystem::remove(path);
}

TEST(SearchCriteria, AndOfContainsAndClassBecomesOneSearch) {
    auto r = search_request(
        R"((dc:title contains "Poet \"X\"" and upnp:artist contains "Night") AND upnp:class derivedfrom "object.item.audioItem")",
        "64", 10, 50);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->name(), "search");
    EXPECT_EQ(r->attr_or("container"), "64");
    EXPECT_EQ(r->attr_or("start"), "10");
    EXPECT_EQ(r->attr_or("max"), "50");
    EXPECT_EQ(r->child_text("title"), "Poet \"X\"");
    EXPECT_EQ(r->child_text("artist"), "Night");
    EXPECT_EQ(r->child_text("class"), "audio");
    auto v = search_request(R"(upnp:class = "object.item.videoItem" and @refID exists false and dc:album contains "x")",
                            "0", 0, 1);
    EXPECT_FALSE(v);  // dc:album is no property of ours (upnp:album is)
    v = search_request(R"(upnp:class = "object.item.videoItem" and @refID exists false and upnp:genre contains "x")",
                       "0", 0, 1);
    ASSERT_TRUE(v) << v.error().describe();
    EXPECT_EQ(v->child_text("class"), "video");
    EXPECT_EQ(v->child_text("genre"), "x");
    auto other = search_request(R"(upnp:class = "object.item" and dc:title contains "x")", "0", 0, 1);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->child_text("class"), "other");
    // Limits count characters: 200 three-byte characters are one term of 200.
    std::string wide;
    for (int i = 0; i < 200; ++i) wide += "\xE6\x97\xA5";
    auto cjk = search_request("dc:title contains \"" + wide + "\"", "0", 0, 1);
    ASSERT_TRUE(cjk) << cjk.error().describe();
    EXPECT_EQ(cjk->child_text("title"), wide);
    // derivedfrom "object.item" is every item: no class term.
    auto all = search_request(R"(upnp:class derivedfrom "object.item" and dc:creator contains "Bach")", "0", 0, 1);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->child_text("class"), "");
    EXPECT_EQ(all->child_text("creator"), "Bach");
}

TEST(SearchCriteria, WhatTheProfileCannotExpressIsRefused) {
    for (const char* c : {"*", "", "   ", R"(dc:title contains "a" or dc:title contains "b")",
                          R"(upnp:class derivedfrom "object.container")", R"(dc:title = "exact")",
                          R"(dc:title doesNotContain "x")", R"(upnp:class derivedfrom "object.item")",
                          R"(dc:title contains "unterminated)", R"((dc:title contains "x")",
                          R"(dc:title contains "x"))", R"(dc:title contains)", R"(dc:title exists maybe)",
                          R"(upnp:class = "object.item.audioItem.musicTrack" and upnp:class = "object.item.videoItem")",
                          R"(dc:title contains "")", R"(res exists true and dc:title contains "x")"}) {
        auto r = search_request(c, "0", 0, 10);
        ASSERT_FALSE(r) << c;
        EXPECT_EQ(r.error().condition, kCriteriaError) << c;
        EXPECT_EQ(action_error_for(r.error()).code, 708) << c;
    }
    EXPECT_FALSE(search_request(std::string(5000, 'a'), "0", 0, 10));
    std::string many;
    for (int i = 0; i < 17; ++i) many += std::string(i ? " and " : "") + "dc:title contains \"t" + std::to_string(i) + "\"";
    EXPECT_FALSE(search_request(many, "0", 0, 10));
    std::string deep = std::string(17, '(') + "dc:title contains \"x\"" + std::string(17, ')');
    EXPECT_FALSE(search_request(deep, "0", 0, 10));
    deep = std::string(16, '(') + "dc:title contains \"x\"" + std::string(16, ')');
    EXPECT_TRUE(search_request(deep, "0", 0, 10));
}

TEST(ExportedDirectory, AnItemNotListedLatelyIsNoSuchObject) {
    Fixture f;
    f.fail_with("bad-request", "an item, not a container");
    auto r = f.browse({"64$3$2", true, 0, 0});
    ASSERT_FALSE(r);
    EXPECT_EQ(action_error_for(r.error()).code, 701);
}

TEST(ExportedDirectory, GrowingUpdateIdsAreReported) {
    Fixture f;
    std::uint32_t update = 17;
    f.answer = [&update](const xml::Element&) {
        auto c = listing("64$3", 2);
        c.set_attr("update-id", std::to_string(update));
        return c;
    };
    std::vector<std::uint32_t> told;
    f.dir->on_update_id([&told](std::uint32_t id) { told.push_back(id); });
    ASSERT_TRUE(f.browse({"64$3", false, 0, 0}));
    ASSERT_TRUE(f.browse({"64$3", false, 0, 0}));  // unchanged: not again
    update = 12;                                    // an older container's: not a change
    ASSERT_TRUE(f.browse({"64$3", false, 0, 0}));
    update = 18;
    ASSERT_TRUE(f.browse({"64$3", false, 0, 0}));
    EXPECT_EQ(told, (std::vector<std::uint32_t>{17, 18}));
    EXPECT_EQ(f.dir->system_update_id(), 18u);
}
