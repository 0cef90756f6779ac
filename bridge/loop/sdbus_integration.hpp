// SdbusIntegration: one sdbus-c++ connection dispatched from a Boost.Asio
// io_context, on the same thread, with no helper thread and no polling.
//
// How: getEventLoopPollData() gives the bus fd, the poll events sd-bus wants
// (POLLIN, plus POLLOUT while it has output queued) and an absolute
// CLOCK_MONOTONIC deadline (the nearest method-call timeout; 0 = "process
// now"). One FdWatch waits on the fd and one steady_timer (CLOCK_MONOTONIC
// too) on the deadline; when either fires, processPendingRequest() runs
// until it returns false, then the poll data is read again and re-armed.
//
// Contract:
//  - Make proxies on connection() (createProxy(IConnection&, …)): sdbus-c++
//    then starts no thread. Never call enterEventLoop*() on it.
//  - Asynchronous calls only (callMethodAsync … withTimeout … uponReplyInvoke),
//    each with a timeout: sd-bus answers an unanswered call with
//    org.freedesktop.DBus.Error.NoReply when its deadline passes, which this
//    integration's timer makes happen on time.
//  - After issuing a call outside a callback of this connection, call
//    issued(): the call may have queued output or brought the deadline
//    forward. (Inside a callback nothing is needed: the poll data is re-read
//    after every dispatch.)
//  - Callbacks run from io_context::run() and must not throw (an exception
//    escaping processPendingRequest() is logged and dropped).
//  - If the connection breaks (the bus daemon went away), on_disconnected
//    runs once and the integration stops waiting.
//  - Destroy it before the io_context; destroying it from a callback is fine.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <sdbus-c++/IConnection.h>
#include <string>

namespace xpmn::loop {

class SdbusIntegration {
public:
    SdbusIntegration(boost::asio::io_context& io, std::unique_ptr<sdbus::IConnection> connection);
    ~SdbusIntegration();
    SdbusIntegration(const SdbusIntegration&) = delete;
    SdbusIntegration& operator=(const SdbusIntegration&) = delete;

    sdbus::IConnection& connection() const noexcept;
    boost::asio::io_context& io() const noexcept;

    // Re-reads the poll data after a call was issued (see the contract).
    void issued();

    void on_disconnected(std::function<void(const std::string& why)> handler);
    bool connected() const noexcept;

    // "session" (default), "system" or a D-Bus address (unix:path=…, tcp:…).
    // Throws sdbus::Error (a std::runtime_error) when the bus cannot be reached.
    static std::unique_ptr<sdbus::IConnection> connect(const std::string& bus);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace xpmn::loop
