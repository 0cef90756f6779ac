#include "xmpp/jingle/s5b_attempts.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace xpmn::jingle {

std::shared_ptr<S5bAttempts> S5bAttempts::start(boost::asio::io_context& io, std::vector<S5bCandidate> candidates,
                                                S5bDstAddrs dst, Options options, Handler done) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const S5bCandidate& a, const S5bCandidate& b) { return a.priority > b.priority; });
    auto self = std::shared_ptr<S5bAttempts>(
        new S5bAttempts(io, std::move(candidates), std::move(dst), options, std::move(done)));
    // Posted: the handler never runs from inside start(), even with no candidates.
    boost::asio::post(io, [self] {
        if (self->finished_) return;
        self->launch_next();
        self->maybe_all_failed();
    });
    return self;
}

S5bAttempts::S5bAttempts(boost::asio::io_context& io, std::vector<S5bCandidate> candidates, S5bDstAddrs dst,
                         Options options, Handler done)
    : io_(io), candidates_(std::move(candidates)), dst_(std::move(dst)), options_(options),
      done_(std::move(done)), stagger_(io), end_(candidates_.size()) {}

void S5bAttempts::launch_next() {
    if (finished_ || next_ >= end_) return;
    std::size_t index = next_++;
    const auto& c = candidates_[index];
    running_[index] = socks5::Client::connect(
        io_, c.host, c.port, c.type == S5bType::Proxy ? dst_.proxy : dst_.direct, options_.deadline,
        [w = weak_from_this(), index](Result<std::shared_ptr<net::TcpStream>> r) {
            if (auto self = w.lock()) self->attempt_done(index, std::move(r));
        });
    arm_stagger();
}

void S5bAttempts::arm_stagger() {
    stagger_.cancel();
    if (next_ >= end_) return;
    stagger_.expires_after(options_.stagger);
    stagger_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (ec || !self) return;
        self->launch_next();
    });
}

void S5bAttempts::attempt_done(std::size_t index, Result<std::shared_ptr<net::TcpStream>> r) {
    running_.erase(index);
    if (finished_) {
        if (r) (*r)->abort();
        return;
    }
    if (!r) {
        const auto& c = candidates_[index];
        failures_ += (failures_.empty() ? "" : "; ") + c.cid + " (" + c.host + ":" + std::to_string(c.port) +
                     "): " + r.error().describe();
        // Nothing left running: no reason to wait out the stagger.
        if (running_.empty()) launch_next();
        return maybe_all_failed();
    }
    Success s{candidates_[index], std::move(*r)};
    auto done = std::move(done_);
    cancel();
    done(std::move(s));
}

void S5bAttempts::drop_below(std::uint64_t priority) {
    if (finished_) return;
    while (end_ > next_ && candidates_[end_ - 1].priority < priority) --end_;
    for (auto it = running_.begin(); it != running_.end();) {
        if (candidates_[it->first].priority < priority) {
            it->second->cancel();
            it = running_.erase(it);
        } else {
            ++it;
        }
    }
    if (next_ >= end_) stagger_.cancel();
    if (running_.empty()) launch_next();
    // Posted like every outcome: the caller is in the middle of its own work.
    boost::asio::post(io_, [w = weak_from_this()] {
        if (auto self = w.lock()) self->maybe_all_failed();
    });
}

void S5bAttempts::maybe_all_failed() {
    if (finished_ || !running_.empty() || next_ < end_) return;
    auto done = std::move(done_);
    std::string why = failures_.empty() ? "no candidate to try" : failures_;
    cancel();
    done(Error{"remote-server-not-found", why});
}

void S5bAttempts::cancel() {
    if (finished_) return;
    finished_ = true;
    done_ = nullptr;
    stagger_.cancel();
    auto running = std::move(running_);
    running_.clear();
    for (auto& [i, c] : running) c->cancel();
}

}  // namespace xpmn::jingle
