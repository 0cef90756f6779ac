// UpnpDirectory over a stand-in ContentDirectory: what a real NAS cannot be
// made to do on demand (leave while a call is in flight, answer a Search
// with hits that do not match) and what it asks the NAS for.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/upnp/upnp_directory.hpp"

using namespace xpmn;
using namespace xpmn::upnp;

namespace {

const std::string kJid = "home@example.org/upnp-3fa2c1d0";

// Records every call; the test answers them when and how it likes.
struct FakeCds : ContentDirectoryService {
    struct Call {
        std::string action, id, criteria;
        bool metadata = false;
        std::uint32_t start = 0, count = 0;
        BrowseCallback done;
    };
    std::deque<Call> calls;
    std::deque<StringCallback> caps;
    std::vector<Call> cancelled;

    void browse(const std::string& id, bool metadata, std::uint32_t start, std::uint32_t count,
                BrowseCallback done) override {
        calls.push_back({"Browse", id, "", metadata, start, count, std::move(done)});
    }
    void search(const std::string& id, const std::string& criteria, std::uint32_t start, std::uint32_t count,
                BrowseCallback done) override {
        calls.push_back({"Search", id, criteria, false, start, count, std::move(done)});
    }
    void search_capabilities(StringCallback done) override { caps.push_back(std::move(done)); }
    void system_update_id(UintCallback) override {}
    void set_change_callback(ChangeCallback) override {}
    void cancel_all() override {
        for (auto& c : calls) cancelled.push_back(std::move(c));
        calls.clear();
    }

    Call take() {
        EXPECT_FALSE(calls.empty());
        Call c = std::move(calls.front());
        calls.pop_front();
        return c;
    }
    void answer_caps(const std::string& v) {
        ASSERT_FALSE(caps.empty());
        auto cb = std::move(caps.front());
        caps.pop_front();
        cb(v);
    }
};

Result<CdsResult> unreachable() { return Error{"remote-server-not-found", "the media server cannot be reached"}; }

const std::string kOpen =
    "<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\" "
    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:upnp=\"urn:schemas-upnp-org:metadata-1-0/upnp/\">";

std::string container_xml(const std::string& id, const std::string& parent, const std::string& title) {
    return "<container id=\"" + id + "\" parentID=\"" + parent + "\" restricted=\"1\"><dc:title>" + title +
           "</dc:title><upnp:class>object.container.storageFolder</upnp:class></container>";
}

std::string item_xml(const std::string& id, const std::string& parent, const std::string& title,
                     const std::string& artist) {
    return "<item id=\"" + id + "\" parentID=\"" + parent + "\" restricted=\"1\"><dc:title>" + title +
           "</dc:title><upnp:artist>" + artist +
           "</upnp:artist><upnp:class>object.item.audioItem.musicTrack</upnp:class>"
           "<res protocolInfo=\"http-get:*:audio/mpeg:*\">http://192.0.2.1/" +
           id + ".mp3</res></item>";
}

Result<CdsResult> page(const std::vector<std::string>& objects, std::uint32_t total) {
    std::string didl = kOpen;
    for (const auto& o : objects) didl += o;
    return CdsResult{didl + "</DIDL-Lite>", static_cast<std::uint32_t>(objects.size()), total, 1};
}

struct Fixture : ::testing::Test {
    boost::asio::io_context io;
    std::shared_ptr<FakeCds> cds = std::make_shared<FakeCds>();
    std::shared_ptr<UpnpDirectory> dir = std::make_shared<UpnpDirectory>(io, cds, kJid, DirectoryOptions{});
    std::optional<profiles::DirectoryResult> result;

    // Starts a search; the server has these search capabilities.
    void search(std::vector<std::pair<std::string, std::string>> terms, const std::string& caps,
                std::uint32_t max = profiles::kDefaultMax) {
        profiles::SearchRequest r;
        r.terms = std::move(terms);
        r.max = max;
        dir->search(r, [this](profiles::DirectoryResult res) { result = std::move(res); });
        cds->answer_caps(caps);
    }
    // An attribute of the result container ("" when none, or no result).
    std::string result_attr(const char* name) const {
        if (!result || !result->ok()) return "";
        return result->value().attr(name).value_or("");
    }
};

}  // namespace

// A NAS that leaves while a search by browsing waits for a page: the device
// is dropped, then the cancelled call ends. The walk answers once and
// nothing of it (the walk, its callback, the IQ responder it holds) stays.
TEST_F(Fixture, NasLeavingMidSearchByBrowsingFreesTheWalk) {
    auto token = std::make_shared<int>(0);  // stands for the IQ responder the callback holds
    std::weak_ptr<int> held = token;
    std::optional<profiles::DirectoryResult> result;
    int answers = 0;
    profiles::SearchRequest r;
    r.terms = {{"genre", "rock"}};
    dir->search(r, [token, &result, &answers](profiles::DirectoryResult res) {
        result = std::move(res);
        ++answers;
    });
    token.reset();
    cds->answer_caps("");  // no Search: walk
    FakeCds::Call first = cds->take();
    ASSERT_EQ(first.action, "Browse");
    first.done(page({container_xml("1", "0", "Music")}, 1));  // one container to go into
    ASSERT_EQ(cds->calls.size(), 1u);
    dir->gone();
    dir.reset();
    ASSERT_EQ(cds->cancelled.size(), 1u);
    auto pending = std::move(cds->cancelled.front().done);
    cds->cancelled.clear();
    pending(unreachable());
    pending = nullptr;
    ASSERT_EQ(answers, 1);
    ASSERT_TRUE(!result->ok());
    EXPECT_EQ(result->error().condition, "remote-server-not-found");
    EXPECT_TRUE(held.expired()) << "the walk and its callback leaked";
}

// The call is dropped without an answer (its owner went away): nothing leaks.
TEST_F(Fixture, DroppedCallFreesTheWalk) {
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> held = token;
    profiles::SearchRequest r;
    r.terms = {{"genre", "rock"}};
    dir->search(r, [token](profiles::DirectoryResult) {});
    token.reset();
    cds->answer_caps("");
    cds->calls.clear();
    EXPECT_TRUE(held.expired()) << "the walk and its callback leaked";
}

// The walk goes into containers and keeps the items that match.
TEST_F(Fixture, SearchByBrowsingWalksAndFilters) {
    search({{"artist", "band"}}, "");
    cds->take().done(page({container_xml("1", "0", "Music"), item_xml("2", "0", "Top", "The Band")}, 2));
    FakeCds::Call sub = cds->take();
    EXPECT_EQ(sub.id, "1");
    sub.done(page({item_xml("3", "1", "Inner", "A Band"), item_xml("4", "1", "Other", "Solo")}, 2));
    EXPECT_EQ(result_attr("total"), "2");
    EXPECT_EQ(result_attr("returned"), "2");
}

// A term the NAS cannot match reliably is narrowed; the NAS's hits are
// filtered here and every hit is fetched, so totals are the bridge's.
TEST_F(Fixture, NarrowedSearchFiltersTheServersHits) {
    search({{"artist", "Die ärzte"}}, "upnp:artist,upnp:class", 1);
    FakeCds::Call call = cds->take();
    EXPECT_EQ(call.action, "Search");
    EXPECT_EQ(call.criteria, "upnp:artist contains \"rzte\" and upnp:class derivedfrom \"object.item\"");
    EXPECT_EQ(call.start, 0u);
    call.done(page({item_xml("1", "9", "Eins", "Die Ärzte"), item_xml("2", "9", "Zwei", "Wurzte"),
                    item_xml("3", "9", "Drei", "DIE ÄRZTE")},
                   3));
    EXPECT_EQ(result_attr("total"), "2");
    EXPECT_EQ(result_attr("returned"), "1");
}

// An exact term whose NAS answer holds a hit that does not match: the page
// is not passed on as it is; all hits are fetched and filtered.
TEST_F(Fixture, ServerFalseHitIsDropped) {
    search({{"artist", "band"}}, "*");
    FakeCds::Call first = cds->take();
    first.done(page({item_xml("1", "9", "Eins", "The Band"), item_xml("2", "9", "Zwei", "Solo")}, 2));
    ASSERT_FALSE(result);
    FakeCds::Call all = cds->take();
    EXPECT_EQ(all.action, "Search");
    all.done(page({item_xml("1", "9", "Eins", "The Band"), item_xml("2", "9", "Zwei", "Solo")}, 2));
    EXPECT_EQ(result_attr("total"), "1");
}

namespace {

std::vector<std::string> items(std::uint32_t from, std::uint32_t n) {
    std::vector<std::string> out;
    for (std::uint32_t i = from; i < from + n; ++i)
        out.push_back(item_xml(std::to_string(i), "1", "Track number " + std::to_string(i) + " of a long enough album title", "Some Artist"));
    return out;
}

}  // namespace

// max='1000' asks the server for about what fits in the result's size
// budget, not for 1000 children that would be parsed and dropped; what is
// delivered is the same as from one large request.
TEST_F(Fixture, BrowseFetchesWhatCanBeDelivered) {
    profiles::BrowseRequest r;
    r.id = "1";
    r.max = 1000;
    dir->browse(r, [this](profiles::DirectoryResult res) { result = std::move(res); });
    cds->take().done(page({container_xml("1", "0", "Many")}, 1));
    std::uint32_t asked = 0, calls = 0, next = 0;
    while (!result && !cds->calls.empty()) {
        FakeCds::Call c = cds->take();
        EXPECT_EQ(c.start, next);
        EXPECT_LE(c.start + c.count, 1000u);
        asked += c.count;
        ++calls;
        next += c.count;
        c.done(page(items(c.start, c.count), 5000));
    }
    ASSERT_TRUE(result && result->ok());
    std::uint32_t returned = std::stoul(result_attr("returned"));
    EXPECT_GT(returned, 100u);
    EXPECT_LT(returned, 1000u);  // the budget cut it
    EXPECT_LE(result->value().to_string().size(), 192u * 1024);
    EXPECT_EQ(result_attr("total"), "5000");
    EXPECT_LE(calls, 3u);
    EXPECT_LT(asked, returned + returned / 8 + 8) << "asked the server for " << asked << ", delivered " << returned;
    // Children in the server's order, from the start.
    auto kids = result->value().children("item");
    ASSERT_EQ(kids.size(), returned);
    EXPECT_EQ(kids.front()->attr("id").value_or(""), "0");
    EXPECT_EQ(kids.back()->attr("id").value_or(""), std::to_string(returned - 1));
}

// Small pages are one request of exactly max.
TEST_F(Fixture, SmallBrowseIsOneRequest) {
    profiles::BrowseRequest r;
    r.id = "1";
    r.start = 5;
    r.max = 10;
    dir->browse(r, [this](profiles::DirectoryResult res) { result = std::move(res); });
    cds->take().done(page({container_xml("1", "0", "Many")}, 1));
    FakeCds::Call c = cds->take();
    EXPECT_EQ(c.start, 5u);
    EXPECT_EQ(c.count, 10u);
    c.done(page(items(5, 10), 50));
    EXPECT_EQ(result_attr("returned"), "10");
    EXPECT_TRUE(cds->calls.empty());
}
