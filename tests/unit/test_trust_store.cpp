// The trust store (xmpp/xtls/trust_store) and what it stands on: atomic
// writes that survive a crash before the rename, TOML record files with
// file:line errors, RFC 3339 times.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/utc_time.hpp"
#include "xmpp/xtls/trust_store.hpp"

using namespace xpmn;
namespace fs = std::filesystem;

namespace {

const std::string kFpA(64, 'a');
const std::string kFpB(64, 'b');
const std::string kFpC(64, 'c');

class TempDir : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/xpmn-trust-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return dir + "/" + name; }
    void write(const std::string& name, const std::string& text) const { std::ofstream(file(name)) << text; }
    std::string read(const std::string& name) const { return common::read_file(file(name), 1 << 20); }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
    std::string dir;
};

xtls::TrustEntry entry(const std::string& fp, const char* jid, xtls::TrustRole role, const char* name = "Pixel 7") {
    return {fp, Jid::must_parse(jid), role, name, *common::parse_rfc3339("2026-12-01T21:00:00Z")};
}

using AtomicFile = TempDir;

TEST_F(AtomicFile, WritesOwnerOnlyAndReplaces) {
    common::write_file_atomically(file("f"), "one");
    common::write_file_atomically(file("f"), "two");
    EXPECT_EQ(read("f"), "two");
    struct stat st {};
    ASSERT_EQ(::stat(file("f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(names(), std::vector<std::string>{"f"});  // no temporary file left
}

TEST_F(AtomicFile, AFailureBeforeTheRenameKeepsTheOldFile) {
    common::write_file_atomically(file("f"), "old");
    EXPECT_THROW(common::write_file_atomically(file("f"), "new", [] { throw common::FileError("disk gone"); }),
                 common::FileError);
    EXPECT_EQ(read("f"), "old");
    EXPECT_EQ(names(), std::vector<std::string>{"f"});
}

TEST_F(AtomicFile, AProcessKilledBeforeTheRenameLeavesTheOldFileWhole) {
    common::write_file_atomically(file("f"), "old content");
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The new content is complete and synced in the temporary file; die here.
        common::write_file_atomically(file("f"), std::string(100000, 'n'), [] { ::raise(SIGKILL); });
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(read("f"), "old content");
    // The next write succeeds; the dead writer's temporary file is never read.
    common::write_file_atomically(file("f"), "newer");
    EXPECT_EQ(read("f"), "newer");
}

TEST_F(AtomicFile, AMissingDirectoryIsAClearError) {
    try {
        common::write_file_atomically(file("no/such/f"), "x");
        FAIL();
    } catch (const common::FileError& e) {
        EXPECT_NE(std::string(e.what()).find("no/such/f"), std::string::npos) << e.what();
    }
}

TEST(UtcTime, FormatsAndParsesRfc3339) {
    auto t = common::parse_rfc3339("2026-12-01T22:00:00Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(common::format_utc(*t), "2026-12-01T22:00:00Z");
    EXPECT_EQ(common::format_utc(*common::parse_rfc3339("2026-12-01T23:30:00.125+01:30")), "2026-12-01T22:00:00Z");
    EXPECT_EQ(common::format_utc(*common::parse_rfc3339("2026-12-01T20:00:00-02:00")), "2026-12-01T22:00:00Z");
    for (const char* bad : {"", "2026-12-01", "2026-12-01T22:00:00", "2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z",
                            "2026-12-01T22:00:00Zjunk", "2026-12-01T22:00:00.Z", "2026-12-01 22:00:00Z",
                            "2026-12-01T22:00:00+1:00"})
        EXPECT_FALSE(common::parse_rfc3339(bad)) << bad;
}

using TrustStoreTest = TempDir;

TEST_F(TrustStoreTest, AMissingFileIsAnEmptyStore) {
    auto store = xtls::TrustStore::load(file("trust.toml"));
    EXPECT_TRUE(store.entries().empty());
    EXPECT_FALSE(store.find(kFpA));
}

TEST_F(TrustStoreTest, SavesEveryChangeAndLoadsItBack) {
    xtls::TrustStore store(file("trust.toml"));
    ASSERT_TRUE(store.add(entry(kFpA, "home@example.org/phone", xtls::TrustRole::Owner)));
    ASSERT_TRUE(store.add(entry("BB:" + kFpB.substr(2), "juliet@capulet.lit", xtls::TrustRole::Friend,
                               "Tab \"1\"\n# [[peer]] ü\\")));
    auto loaded = xtls::TrustStore::load(file("trust.toml"));
    ASSERT_EQ(loaded.entries().size(), 2u);
    const auto* a = loaded.find(kFpA);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->jid.str(), "home@example.org");  // stored bare
    EXPECT_EQ(a->role, xtls::TrustRole::Owner);
    EXPECT_EQ(a->name, "Pixel 7");
    EXPECT_EQ(common::format_utc(a->paired_at), "2026-12-01T21:00:00Z");
    const auto* b = loaded.find(kFpB);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "Tab \"1\"\n# [[peer]] ü\\");  // TOML escaping keeps any text
    EXPECT_EQ(b->role, xtls::TrustRole::Friend);
    struct stat st {};
    ASSERT_EQ(::stat(file("trust.toml").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TrustStoreTest, TrustsAFingerprintOnlyWithItsJid) {
    xtls::TrustStore store(file("trust.toml"));
    ASSERT_TRUE(store.add(entry(kFpA, "home@example.org", xtls::TrustRole::Owner)));
    EXPECT_TRUE(store.trusts(kFpA, Jid::must_parse("home@example.org/phone")));
    EXPECT_TRUE(store.trusts(std::string(64, 'A'), Jid::must_parse("HOME@example.org")));
    EXPECT_FALSE(store.trusts(kFpA, Jid::must_parse("mallory@example.org/phone")));  // a stolen key
    EXPECT_FALSE(store.trusts(kFpB, Jid::must_parse("home@example.org/phone")));     // another key
    EXPECT_FALSE(store.trusts("", Jid::must_parse("home@example.org")));
    EXPECT_FALSE(store.trusts(kFpA, Jid{}));
}

TEST_F(TrustStoreTest, ForgetRemovesEveryFingerprintOfTheJid) {
    xtls::TrustStore store(file("trust.toml"));
    ASSERT_TRUE(store.add(entry(kFpA, "juliet@capulet.lit", xtls::TrustRole::Friend)));
    ASSERT_TRUE(store.add(entry(kFpB, "juliet@capulet.lit", xtls::TrustRole::Friend, "Laptop")));
    ASSERT_TRUE(store.add(entry(kFpC, "home@example.org", xtls::TrustRole::Owner)));
    EXPECT_EQ(store.of(Jid::must_parse("juliet@capulet.lit/x")).size(), 2u);
    auto n = store.forget(Jid::must_parse("juliet@capulet.lit/whatever"));
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 2u);
    auto loaded = xtls::TrustStore::load(file("trust.toml"));
    ASSERT_EQ(loaded.entries().size(), 1u);
    EXPECT_EQ(loaded.entries()[0].fingerprint, kFpC);
    EXPECT_EQ(*store.forget(Jid::must_parse("nobody@x")), 0u);
}

TEST_F(TrustStoreTest, TheSameFingerprintIsReplacedNotDuplicated) {
    xtls::TrustStore store(file("trust.toml"));
    ASSERT_TRUE(store.add(entry(kFpA, "home@example.org", xtls::TrustRole::Owner)));
    ASSERT_TRUE(store.add(entry(kFpA, "home@example.org", xtls::TrustRole::Owner, "Renamed")));
    ASSERT_EQ(store.entries().size(), 1u);
    EXPECT_EQ(store.entries()[0].name, "Renamed");
}

TEST_F(TrustStoreTest, BadEntriesAreRefusedAndAFailedSaveChangesNothing) {
    xtls::TrustStore store(file("trust.toml"));
    EXPECT_EQ(store.add(entry("abc", "home@example.org", xtls::TrustRole::Owner)).error().condition, "bad-request");
    ASSERT_TRUE(store.add(entry(kFpA, "home@example.org", xtls::TrustRole::Owner)));
    xtls::TrustStore unwritable(file("missing-dir/trust.toml"));
    auto r = unwritable.add(entry(kFpA, "home@example.org", xtls::TrustRole::Owner));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().text.find("missing-dir"), std::string::npos);
    EXPECT_TRUE(unwritable.entries().empty());
}

TEST_F(TrustStoreTest, ABadFileIsRefusedWithFileAndLineForEveryProblem) {
    write("trust.toml",
          "[[peer]]\n"                                         // 1
          "fingerprint = \"" + kFpA + "\"\n"                   // 2
          "jid = \"home@example.org\"\n"                       // 3
          "role = \"owner\"\n"                                 // 4
          "paired_at = \"2026-12-01T21:00:00Z\"\n"             // 5
          "\n"                                                 // 6
          "[[peer]]\n"                                         // 7
          "fingerprint = \"xyz\"\n"                            // 8
          "jid = \"home@example.org/phone\"\n"                 // 9
          "role = \"admin\"\n"                                 // 10
          "paired_at = \"yesterday\"\n"                        // 11
          "colour = \"blue\"\n"                                // 12
          "\n"                                                 // 13
          "[[peer]]\n"                                         // 14
          "fingerprint = \"" + kFpA + "\"\n"                   // 15
          "jid = \"x@y\"\n"                                    // 16
          "role = \"friend\"\n");                              // 17
    try {
        (void)xtls::TrustStore::load(file("trust.toml"));
        FAIL() << "a bad trust store was accepted";
    } catch (const xtls::TrustStoreError& e) {
        std::string what = e.what();
        for (const char* expected : {"trust.toml:8: fingerprint 'xyz'", "trust.toml:9: jid 'home@example.org/phone'",
                                     "trust.toml:10: role 'admin'", "trust.toml:11: paired_at 'yesterday'",
                                     "trust.toml:12: unknown key 'colour'", "trust.toml:15: fingerprint " ,
                                     "listed twice", "trust.toml:14: missing 'paired_at'"})
            EXPECT_NE(what.find(expected), std::string::npos) << expected << " not in:\n" << what;
    }
}

TEST_F(TrustStoreTest, SyntaxErrorsAndStrangeShapesAreErrors) {
    write("trust.toml", "[[peer]\nfingerprint = 1\n");
    EXPECT_THROW((void)xtls::TrustStore::load(file("trust.toml")), xtls::TrustStoreError);
    write("trust.toml", "\n[[peer]]\nfingerprint = 1\n");
    try {
        (void)xtls::TrustStore::load(file("trust.toml"));
        FAIL();
    } catch (const xtls::TrustStoreError& e) {
        EXPECT_NE(std::string(e.what()).find("trust.toml:3: 'fingerprint' must be a string"), std::string::npos)
            << e.what();
    }
    write("trust.toml", "peer = \"x\"\n[other]\n");
    try {
        (void)xtls::TrustStore::load(file("trust.toml"));
        FAIL();
    } catch (const xtls::TrustStoreError& e) {
        EXPECT_NE(std::string(e.what()).find("trust.toml:1:"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("unknown key 'other'"), std::string::npos) << e.what();
    }
}

TEST_F(TrustStoreTest, AnEmptiedStoreLoadsAsEmpty) {
    xtls::TrustStore store(file("trust.toml"));
    ASSERT_TRUE(store.add(entry(kFpA, "home@example.org", xtls::TrustRole::Owner)));
    ASSERT_TRUE(store.forget(Jid::must_parse("home@example.org")));
    EXPECT_TRUE(xtls::TrustStore::load(file("trust.toml")).entries().empty());
}

}  // namespace
