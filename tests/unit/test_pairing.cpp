// The pairing window: CSPRNG PINs, 5-minute validity on an injected clock,
// burned after 3 failures or one success, and an SRP lookup that a real
// TLS-SRP handshake accepts with the PIN and refuses otherwise.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "bridge/security/pairing_window.hpp"
#include "tests/unit/tls_test_pair.hpp"

using namespace xpmn;
using namespace std::chrono_literals;
using security::PairingWindow;

namespace {

struct Pairing : ::testing::Test {
    std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
    std::shared_ptr<PairingWindow> window = std::make_shared<PairingWindow>([this] { return now; });
    const Jid phone = Jid::must_parse("home@example.org/phone");
    std::vector<std::string> burned;

    void SetUp() override {
        window->on_burned = [this](const std::string& why) { burned.push_back(why); };
    }

    // A TLS-SRP handshake over the in-memory pair: the client with (user,
    // pin), the server with the window's lookup for `initiator`. True when
    // both sides completed it.
    bool handshake(const std::string& user, const std::string& pin, const Jid& initiator) {
        boost::asio::io_context io;
        auto server_id = test_tls::make_self_signed("bridge");
        auto [cw, sw] = net::make_memory_pair(io);
        test_tls::Side client, server;
        tls::PeerCheck check;
        check.srp_lookup = window->srp_lookup(initiator);
        client.tls = std::make_shared<tls::TlsStream>(cw, tls::make_srp_client_context({user, pin}),
                                                      tls::TlsStream::Role::Client);
        server.tls = std::make_shared<tls::TlsStream>(
            sw, tls::make_server_context({{server_id.cert, server_id.key}, true}), tls::TlsStream::Role::Server,
            check);
        client.begin();
        server.begin();
        io.run();
        return client.handshake_error.empty() && server.handshake_error.empty();
    }
};

TEST(RandomPin, HasTheDigitsAskedForAndVaries) {
    std::set<std::string> seen;
    std::map<char, int> counts;
    for (int i = 0; i < 200; ++i) {
        std::string pin = security::random_pin(6);
        ASSERT_EQ(pin.size(), 6u);
        for (char c : pin) {
            ASSERT_TRUE(c >= '0' && c <= '9') << pin;
            ++counts[c];
        }
        seen.insert(pin);
    }
    EXPECT_GT(seen.size(), 190u);  // 10^6 values: repeats are rare
    EXPECT_EQ(counts.size(), 10u);  // every digit shows up in 1200 draws
    EXPECT_EQ(security::random_pin(9).size(), 9u);
}

TEST_F(Pairing, ClosedUntilOpened) {
    EXPECT_FALSE(window->active());
    EXPECT_FALSE(window->expires());
    EXPECT_FALSE(window->srp_lookup(phone)(phone.str()));
}

TEST_F(Pairing, AnOpenedPinIsValidForFiveMinutes) {
    auto opened = window->open();
    EXPECT_EQ(opened.pin.size(), PairingWindow::kPinDigits);
    EXPECT_EQ(opened.expires, now + 5min);
    EXPECT_TRUE(window->active());
    now += 5min - 1s;
    EXPECT_TRUE(window->active());
    EXPECT_TRUE(window->srp_lookup(phone)(phone.str()));
    now += 1s;
    EXPECT_FALSE(window->active());
    EXPECT_FALSE(window->srp_lookup(phone)(phone.str()));
    EXPECT_EQ(burned, std::vector<std::string>{"expired"});
}

TEST_F(Pairing, TheRightPinPairsOnceThenItIsBurned) {
    auto opened = window->open();
    ASSERT_TRUE(handshake(phone.str(), opened.pin, phone));
    window->succeeded();
    EXPECT_FALSE(window->active());
    EXPECT_FALSE(handshake(phone.str(), opened.pin, phone));
    EXPECT_EQ(burned, std::vector<std::string>{"used"});
}

TEST_F(Pairing, AWrongPinFailsAndTheThirdFailureBurnsThePin) {
    auto opened = window->open();
    std::string wrong = opened.pin == "000000" ? "111111" : "000000";
    for (int i = 1; i <= 2; ++i) {
        EXPECT_FALSE(handshake(phone.str(), wrong, phone));
        window->failed();
        EXPECT_TRUE(window->active()) << i;
        EXPECT_EQ(window->failures(), i);
    }
    EXPECT_FALSE(handshake(phone.str(), wrong, phone));
    window->failed();
    EXPECT_FALSE(window->active());
    EXPECT_EQ(burned, std::vector<std::string>{"3 failed handshakes"});
    // Even the right PIN is useless now.
    EXPECT_FALSE(handshake(phone.str(), opened.pin, phone));
}

TEST_F(Pairing, TheSrpUserMustBeTheInitiatorJingleNamed) {
    auto opened = window->open();
    auto other = Jid::must_parse("home@example.org/laptop");
    EXPECT_FALSE(window->srp_lookup(phone)(other.str()));
    EXPECT_FALSE(handshake(other.str(), opened.pin, phone));
}

TEST_F(Pairing, ReopeningGivesANewPinAndResetsTheCount) {
    int n = 0;
    auto counted = std::make_shared<PairingWindow>([this] { return now; },
                                                   [&n] { return std::string(6, char('1' + n++)); });
    auto first = counted->open();
    counted->failed();
    counted->failed();
    now += 4min;
    auto second = counted->open();
    EXPECT_EQ(first.pin, "111111");
    EXPECT_EQ(second.pin, "222222");
    EXPECT_EQ(counted->failures(), 0);
    EXPECT_EQ(second.expires, now + 5min);
    counted->failed();
    EXPECT_TRUE(counted->active());
}

TEST_F(Pairing, ALookupOutlivingTheWindowGivesNothing) {
    window->open();
    auto lookup = window->srp_lookup(phone);
    window.reset();
    EXPECT_FALSE(lookup(phone.str()));
}

}  // namespace
