// When to ask the server for an XEP-0198 ack (<r/>). Asking after every
// burst costs a small record each way per exchange, and the server's answer
// is what makes its next segment wait on Nagle against our delayed ACK (a
// ~40 ms stall on quick request/response exchanges). So: ask once `every`
// stanzas have gone out since the last request, or once the output has been
// idle for `idle` with stanzas still unacknowledged; never when the server
// has already acknowledged everything. One Asio timer, re-armed only while
// stanzas are outstanding.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace xpmn::client {

class AckRequester {
public:
    struct Policy {
        std::size_t every = 10;
        std::chrono::milliseconds idle{1000};
    };

    // `request` writes the <r/>; it is called from sent() or from the timer.
    AckRequester(boost::asio::io_context& io, Policy policy, std::function<void()> request);
    ~AckRequester();
    AckRequester(const AckRequester&) = delete;
    AckRequester& operator=(const AckRequester&) = delete;

    // A stanza was written on a stream with acks enabled.
    void sent();
    // The server acknowledged; `unacked` is how many of ours are still outstanding.
    void acknowledged(std::size_t unacked);
    // The stream is gone: no request until the next sent().
    void cancel();

    std::size_t since_request() const;

private:
    struct State;
    std::shared_ptr<State> state_;  // the timer's handler holds it weakly
};

}  // namespace xpmn::client
