// SdbusIntegration: sd-bus replies, timeouts and signals dispatched from
// io_context::run() on the test's thread, against a private dbus-daemon.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <sdbus-c++/sdbus-c++.h>
#include <thread>

#include "bridge/loop/sdbus_integration.hpp"
#include "tests/unit/dbus_test_daemon.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using xpmn::loop::SdbusIntegration;

namespace {

class SdbusIntegrationTest : public ::testing::Test {
protected:
    xpmn::test::DbusTestDaemon bus;
    asio::io_context io;

    template <class Pred>
    bool run_until(Pred done, std::chrono::milliseconds guard = 5s) {
        return xpmn::test::run_until(io, done, guard);
    }
};

TEST_F(SdbusIntegrationTest, AsyncReplyRunsOnTheLoopThread) {
    SdbusIntegration dbus(io, SdbusIntegration::connect(bus.address()));
    auto proxy = sdbus::createProxy(dbus.connection(), "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::vector<std::string> names;
    bool answered = false;
    std::thread::id where;
    proxy->callMethodAsync("ListNames")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(5s)
        .uponReplyInvoke([&](const sdbus::Error* err, std::vector<std::string> n) {
            answered = true;
            where = std::this_thread::get_id();
            EXPECT_EQ(err, nullptr);
            names = std::move(n);
        });
    dbus.issued();
    ASSERT_TRUE(run_until([&] { return answered; }));
    EXPECT_EQ(where, std::this_thread::get_id());
    EXPECT_NE(std::find(names.begin(), names.end(), "org.freedesktop.DBus"), names.end());
}

TEST_F(SdbusIntegrationTest, UnansweredCallTimesOutOnTime) {
    SdbusIntegration dbus(io, SdbusIntegration::connect(bus.address()));
    // A peer that owns a name and never reads its socket.
    auto silent = sdbus::createSessionBusConnectionWithAddress(bus.address());
    silent->requestName("org.xpmn.Silent");
    auto proxy = sdbus::createProxy(dbus.connection(), "org.xpmn.Silent", "/x");
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration took{};
    proxy->callMethodAsync("Hang").onInterface("org.xpmn.T").withTimeout(300ms).uponReplyInvoke(
        [&](const sdbus::Error* err) {
            took = std::chrono::steady_clock::now() - start;
            error = err ? err->getName() : "none";
        });
    dbus.issued();
    ASSERT_TRUE(run_until([&] { return !error.empty(); }));
    EXPECT_EQ(error, "org.freedesktop.DBus.Error.NoReply");
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

TEST_F(SdbusIntegrationTest, SignalsArriveThroughAMatch) {
    SdbusIntegration dbus(io, SdbusIntegration::connect(bus.address()));
    int got = 0;
    std::string last;
    auto slot = dbus.connection().addMatch("type='signal',interface='org.xpmn.T',member='Ping'",
                                           [&](sdbus::Message& m) {
                                               std::string s;
                                               m >> s;
                                               last = s;
                                               ++got;
                                           });
    dbus.issued();
    auto peer = sdbus::createSessionBusConnectionWithAddress(bus.address());
    auto object = sdbus::createObject(*peer, "/org/xpmn/T");
    // More than one dispatch batch, so the posted continuation is exercised.
    constexpr int kSignals = 200;
    for (int i = 0; i < kSignals; ++i) {
        auto signal = object->createSignal("org.xpmn.T", "Ping");
        signal << std::to_string(i);
        object->emitSignal(signal);
    }
    ASSERT_TRUE(run_until([&] { return got == kSignals; }));
    EXPECT_EQ(last, std::to_string(kSignals - 1));
}

TEST_F(SdbusIntegrationTest, BusGoingAwayIsReportedOnce) {
    SdbusIntegration dbus(io, SdbusIntegration::connect(bus.address()));
    int reported = 0;
    dbus.on_disconnected([&](const std::string&) { ++reported; });
    run_until([] { return false; }, 100ms);
    bus.kill_now();
    ASSERT_TRUE(run_until([&] { return reported > 0; }));
    run_until([] { return false; }, 200ms);
    EXPECT_EQ(reported, 1);
    EXPECT_FALSE(dbus.connected());
}

TEST(SdbusConnect, UnreachableAddressThrows) {
    EXPECT_THROW(SdbusIntegration::connect("unix:path=/nonexistent/xpmn-bus"), sdbus::Error);
}

}  // namespace
