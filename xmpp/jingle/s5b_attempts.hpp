// Connecting to the peer's S5B candidates (XEP-0260 §2.3): in priority
// order, a new attempt every `stagger` while the earlier ones still run, so
// an address that never answers costs 200 ms and not a TCP timeout; each
// attempt (TCP + SOCKS5 CONNECT) has its own deadline. The first success
// wins and every other attempt is cancelled.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "xmpp/jingle/s5b_element.hpp"
#include "xmpp/jingle/socks5_client.hpp"

namespace xpmn::jingle {

// The SOCKS5 DST.ADDR for the peer's candidates: `direct` for direct,
// assisted and tunnel ones, `proxy` for its proxy candidates.
struct S5bDstAddrs {
    std::string direct;
    std::string proxy;
};

class S5bAttempts : public std::enable_shared_from_this<S5bAttempts> {
public:
    struct Options {
        std::chrono::milliseconds stagger{200};
        std::chrono::milliseconds deadline{5000};  // per attempt
    };
    struct Success {
        S5bCandidate candidate;
        std::shared_ptr<net::TcpStream> stream;  // not started, right after the SOCKS5 reply
    };
    // The winner, or an Error when every candidate failed (the text lists why).
    using Handler = std::function<void(Result<Success>)>;

    // Calls `done` once, from the event loop, unless cancel() came first.
    static std::shared_ptr<S5bAttempts> start(boost::asio::io_context& io, std::vector<S5bCandidate> candidates,
                                              S5bDstAddrs dst, Options options, Handler done);
    // Gives up candidates with a priority below `priority` (started or not):
    // the peer nominated one that beats them. May end with the failure.
    void drop_below(std::uint64_t priority);
    void cancel();

private:
    S5bAttempts(boost::asio::io_context& io, std::vector<S5bCandidate> candidates, S5bDstAddrs dst,
                Options options, Handler done);
    void launch_next();
    void arm_stagger();
    void attempt_done(std::size_t index, Result<std::shared_ptr<net::TcpStream>> r);
    void maybe_all_failed();

    boost::asio::io_context& io_;
    std::vector<S5bCandidate> candidates_;  // highest priority first
    S5bDstAddrs dst_;
    Options options_;
    Handler done_;
    boost::asio::steady_timer stagger_;
    std::size_t next_ = 0;  // candidates_[next_] is the next to start
    std::size_t end_ = 0;   // candidates from end_ on were dropped
    std::map<std::size_t, std::shared_ptr<socks5::Client>> running_;
    std::string failures_;
    bool finished_ = false;
};

}  // namespace xpmn::jingle
