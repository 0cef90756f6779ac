// Config loading: every problem reported with file:line, all at once.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "adapters/mpris/mpris_config.hpp"
#include "adapters/upnp/upnp_config.hpp"
#include "config/config.hpp"

namespace fs = std::filesystem;
using xpmn::config::ConfigError;

namespace {

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("xpmn-config-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        auto p = (dir_ / name).string();
        std::ofstream(p) << text;
        return p;
    }
    std::string error_of(const std::string& text) {
        auto p = write("c.toml", text);
        try {
            xpmn::config::load(p);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return {};
    }
    fs::path dir_;
};

TEST_F(ConfigTest, MinimalConfigLoadsWithDefaults) {
    auto c = xpmn::config::load(write("c.toml", "[xmpp]\njid = \"Home@Example.ORG\"\npassword = \"s3cret\"\n"));
    EXPECT_EQ(c.xmpp.jid.bare().str(), "home@example.org");
    EXPECT_EQ(c.xmpp.password, "s3cret");
    EXPECT_EQ(c.xmpp.port, 5222);
    EXPECT_EQ(c.bridge.log_level, "info");
    EXPECT_FALSE(c.bridge.state_dir.empty());
}

// The container image sets XPMN_STATE_DIR=/config/state: the default when the
// file names no state_dir; a state_dir in the file still wins.
TEST_F(ConfigTest, StateDirDefaultsToXpmnStateDirFromTheEnvironment) {
    ::setenv("XPMN_STATE_DIR", "/config/state", 1);
    auto c = xpmn::config::load(write("c.toml", "[xmpp]\njid = \"a@b\"\npassword = \"pw\"\n"));
    auto named = xpmn::config::load(
        write("d.toml", "[xmpp]\njid = \"a@b\"\npassword = \"pw\"\n[bridge]\nstate_dir = \"/srv/x\"\n"));
    ::unsetenv("XPMN_STATE_DIR");
    EXPECT_EQ(c.bridge.state_dir, "/config/state");
    EXPECT_EQ(named.bridge.state_dir, "/srv/x");
}

TEST_F(ConfigTest, TransferPortMappingIsOffByDefaultAndABoolean) {
    const std::string xmpp = "[xmpp]\njid = \"home@example.org\"\npassword = \"pw\"\n";
    auto c = xpmn::config::load(write("c.toml", xmpp));
    EXPECT_FALSE(c.transfer.port_mapping);
    c = xpmn::config::load(write("d.toml", xmpp + "[transfer]\nport_mapping = true\n"));
    EXPECT_TRUE(c.transfer.port_mapping);
    EXPECT_TRUE(c.transfer.proxies);
    auto e = error_of(xmpp + "[transfer]\nport_mapping = \"yes\"\n");
    EXPECT_NE(e.find("port_mapping"), std::string::npos) << e;
}

TEST_F(ConfigTest, TransferCandidateTimeoutIsFiveSecondsByDefaultAndBounded) {
    const std::string xmpp = "[xmpp]\njid = \"home@example.org\"\npassword = \"pw\"\n";
    EXPECT_EQ(xpmn::config::load(write("c.toml", xmpp)).transfer.candidate_timeout, std::chrono::seconds(5));
    auto c = xpmn::config::load(write("d.toml", xmpp + "[transfer]\ncandidate_timeout = 1\n"));
    EXPECT_EQ(c.transfer.candidate_timeout, std::chrono::seconds(1));
    for (const char* bad : {"0", "61", "\"2\""}) {
        auto e = error_of(xmpp + "[transfer]\ncandidate_timeout = " + bad + "\n");
        EXPECT_NE(e.find("candidate_timeout"), std::string::npos) << e;
    }
}

TEST_F(ConfigTest, PlayersAllowHttpIsOffByDefaultAndABooleanWithItsLine) {
    const std::string xmpp = "[xmpp]\njid = \"home@example.org\"\npassword = \"pw\"\n";
    EXPECT_FALSE(xpmn::config::load(write("c.toml", xmpp)).players.allow_http);
    EXPECT_TRUE(xpmn::config::load(write("d.toml", xmpp + "[players]\nallow_http = true\n")).players.allow_http);
    auto e = error_of(xmpp + "[players]\nallow_http = 1\n");
    EXPECT_NE(e.find("allow_http"), std::string::npos) << e;
    EXPECT_NE(e.find(":5"), std::string::npos) << e;  // file:line
    e = error_of(xmpp + "[players]\nallow_https = true\n");
    EXPECT_NE(e.find("allow_https"), std::string::npos) << e;
}

TEST_F(ConfigTest, AllKeys) {
    write("pw", "from-file\n");
    write("ca.pem", "x");
    auto c = xpmn::config::load(write("c.toml", R"([xmpp]
jid = "home@example.org"
password_file = "pw"
server = "127.0.0.1"
port = 5300
ca_file = "ca.pem"
tls_fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
ping_interval = 0
iq_timeout = 5
[bridge]
state_dir = "state"
log_level = "debug"
)"));
    EXPECT_EQ(c.xmpp.password, "from-file");
    EXPECT_EQ(c.xmpp.server, "127.0.0.1");
    EXPECT_EQ(c.xmpp.port, 5300);
    EXPECT_EQ(c.xmpp.ca_file, (dir_ / "ca.pem").string());
    EXPECT_EQ(c.xmpp.tls_fingerprint, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    EXPECT_EQ(c.xmpp.ping_interval, 0);
    EXPECT_EQ(c.bridge.state_dir, (dir_ / "state").string());
    EXPECT_EQ(c.bridge.log_level, "debug");
}

TEST_F(ConfigTest, UnknownKeysAndSectionsWithLines) {
    auto e = error_of("[xmpp]\njid = \"a@b\"\npassword = \"x\"\npasword = \"typo\"\n\n[bridge]\ncolour = 1\n[extra]\n");
    EXPECT_NE(e.find("c.toml:4: unknown key 'pasword' in [xmpp]"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:7: unknown key 'colour' in [bridge]"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:8: unknown section or key 'extra'"), std::string::npos) << e;
}

TEST_F(ConfigTest, WrongTypesWithLines) {
    auto e = error_of("[xmpp]\njid = \"a@b\"\npassword = \"x\"\nport = \"5222\"\nping_interval = true\n[bridge]\nlog_level = 3\n");
    EXPECT_NE(e.find("c.toml:4: xmpp.port must be an integer"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:5: xmpp.ping_interval must be an integer"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:7: bridge.log_level must be a string"), std::string::npos) << e;
}

TEST_F(ConfigTest, BadValues) {
    auto e = error_of("[xmpp]\njid = \"not a jid@@\"\npassword = \"x\"\nport = 70000\ntls_fingerprint = \"zz\"\n"
                      "[bridge]\nlog_level = \"loud\"\n");
    EXPECT_NE(e.find("c.toml:2: xmpp.jid"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:4: xmpp.port must be between 1 and 65535"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:5: xmpp.tls_fingerprint"), std::string::npos) << e;
    EXPECT_NE(e.find("c.toml:7: bridge.log_level must be one of"), std::string::npos) << e;
}

TEST_F(ConfigTest, MissingPieces) {
    EXPECT_NE(error_of("").find("missing section [xmpp]"), std::string::npos);
    EXPECT_NE(error_of("[xmpp]\npassword = \"x\"\n").find("needs jid"), std::string::npos);
    EXPECT_NE(error_of("[xmpp]\njid = \"a@b\"\n").find("needs password"), std::string::npos);
    EXPECT_NE(error_of("[xmpp]\njid = \"a@b\"\npassword_file = \"nope\"\n").find("cannot read password_file"),
              std::string::npos);
    EXPECT_NE(error_of("[xmpp]\njid = \"a@b\"\npassword = \"x\"\nca_file = \"missing.pem\"\n").find("cannot read"),
              std::string::npos);
}

TEST_F(ConfigTest, SyntaxErrorHasLine) {
    auto e = error_of("[xmpp]\njid = \"a@b\"\npassword = \n");
    EXPECT_NE(e.find("c.toml:3:"), std::string::npos) << e;
}

TEST_F(ConfigTest, MissingFile) {
    EXPECT_THROW(xpmn::config::load((dir_ / "absent.toml").string()), ConfigError);
}

TEST_F(ConfigTest, MprisSection) {
    xpmn::mpris::MprisSection mpris;
    xpmn::config::load(write("c.toml", "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n[mpris]\nenabled = false\n"
                                       "bus = \"unix:path=/run/x\"\ninclude = [\"*\"]\nexclude = [\"vlc*\"]\n"
                                       "call_timeout_ms = 2000\n"),
                       {&mpris});
    EXPECT_FALSE(mpris.config().enabled);
    EXPECT_EQ(mpris.config().bus, "unix:path=/run/x");
    EXPECT_EQ(mpris.config().include, std::vector<std::string>{"*"});
    EXPECT_EQ(mpris.config().exclude, std::vector<std::string>{"vlc*"});
    EXPECT_EQ(mpris.config().call_timeout_ms, 2000);
    xpmn::mpris::MprisSection defaults;
    xpmn::config::load(write("d.toml", "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n"), {&defaults});
    EXPECT_TRUE(defaults.config().enabled);
    EXPECT_EQ(defaults.config().bus, "session");
    EXPECT_EQ(defaults.config().call_timeout_ms, 5000);
    xpmn::mpris::MprisSection bad;
    EXPECT_THROW(xpmn::config::load(write("e.toml", "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n[mpris]\n"
                                                    "call_timeout_ms = 0\n"),
                                    {&bad}),
                 ConfigError);
}

TEST_F(ConfigTest, AdapterSectionsAreReadByTheirAdapter) {
    xpmn::upnp::UpnpSection upnp;
    auto c = xpmn::config::load(write("c.toml", "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n[upnp]\ninterfaces = [\"lo\"]\n"
                                                "exclude = [\"uuid:bad*\"]\nsearch_max_depth = 3\nwatch_poll_interval = 2\n"
                                                "rescan_interval = 0\nrenderers = false\n[security]\nrequire_e2e = false\n"),
                                {&upnp});
    EXPECT_EQ(upnp.config().interfaces, std::vector<std::string>{"lo"});
    EXPECT_EQ(upnp.config().watch_poll_interval, 2);
    EXPECT_EQ(upnp.config().rescan_interval, 0);
    EXPECT_EQ(upnp.config().exclude, std::vector<std::string>{"uuid:bad*"});
    EXPECT_EQ(upnp.config().search_max_depth, 3);
    EXPECT_FALSE(upnp.config().renderers);
    EXPECT_FALSE(c.security.require_e2e);
    xpmn::upnp::UpnpSection defaults_upnp;
    auto defaults = xpmn::config::load(write("d.toml", "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n"), {&defaults_upnp});
    EXPECT_TRUE(defaults.security.require_e2e);
    EXPECT_EQ(defaults_upnp.config().watch_poll_interval, 5);
    EXPECT_EQ(defaults_upnp.config().rescan_interval, 300);
    EXPECT_TRUE(defaults_upnp.config().renderers);
    auto upnp_error = [this](const std::string& text) {
        xpmn::upnp::UpnpSection section;
        try {
            xpmn::config::load(write("c.toml", text), {&section});
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string head = "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n[upnp]\n";
    EXPECT_NE(upnp_error(head + "watch_poll_interval = 0\n").find("c.toml:5: upnp.watch_poll_interval"), std::string::npos);
    EXPECT_NE(upnp_error(head + "interfaces = \"lo\"\n").find("c.toml:5: upnp.interfaces must be a list of strings"),
              std::string::npos);
    EXPECT_NE(upnp_error(head + "renderers = 1\n").find("upnp.renderers must be true or false"), std::string::npos);
    EXPECT_NE(upnp_error(head + "colour = 1\n").find("c.toml:5: unknown key 'colour' in [upnp]"), std::string::npos);
    EXPECT_NE(error_of("[xmpp]\njid = \"h@e\"\npassword = \"p\"\n[security]\nrequire_e2e = \"no\"\n").find("security.require_e2e must be true or false"), std::string::npos);
}

TEST_F(ConfigTest, ATableNoSectionReadsIsRefusedUnlessIgnored) {
    const std::string text = "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n[upnp]\ninterfaces = [\"lo\"]\n";
    // The daemon knows every section: a table nobody reads is a mistake.
    EXPECT_NE(error_of(text).find("unknown section or key 'upnp'"), std::string::npos);
    // xpmn reads the same file and leaves the adapters' tables to the daemon…
    auto path = write("c.toml", text);
    EXPECT_NO_THROW(xpmn::config::load(path, {}, xpmn::config::OtherTables::Ignore));
    // … but still refuses unknown keys of its own sections and at the top.
    EXPECT_THROW(xpmn::config::load(write("e.toml", text + "[bridge]\ncolour = 1\n"), {},
                                    xpmn::config::OtherTables::Ignore),
                 ConfigError);
    EXPECT_THROW(xpmn::config::load(write("f.toml", "colour = 1\n" + text), {}, xpmn::config::OtherTables::Ignore),
                 ConfigError);
}

TEST_F(ConfigTest, BridgeName) {
    const std::string head = "[xmpp]\njid = \"h@e\"\npassword = \"p\"\n";
    EXPECT_EQ(xpmn::config::load(write("a.toml", head)).bridge.name, "xpmn-bridge");
    EXPECT_EQ(xpmn::config::load(write("b.toml", head + "[bridge]\nname = \"Wohnzimmer\"\n")).bridge.name, "Wohnzimmer");
    EXPECT_NE(error_of(head + "[bridge]\nname = \"\"\n").find("c.toml:5: bridge.name"), std::string::npos);
}

TEST_F(ConfigTest, SessionConfigUsesResource) {
    auto c = xpmn::config::load(write("c.toml", "[xmpp]\njid = \"home@example.org\"\npassword = \"p\"\n"));
    auto s = xpmn::config::session_config(c, "bridge");
    EXPECT_EQ(s.jid.str(), "home@example.org/bridge");
    EXPECT_EQ(s.password, "p");
}

}  // namespace
