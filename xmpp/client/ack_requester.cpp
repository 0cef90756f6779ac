#include "xmpp/client/ack_requester.hpp"

#include <boost/asio/steady_timer.hpp>

namespace xpmn::client {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct AckRequester::State {
    State(asio::io_context& io, Policy p, std::function<void()> r) : policy(p), request(std::move(r)), timer(io) {}
    Policy policy;
    std::function<void()> request;
    asio::steady_timer timer;
    bool armed = false;
    std::size_t since = 0;  // stanzas sent since the last <r/>
    Clock::time_point last_sent;

    void fire() {
        since = 0;
        if (request) request();
    }

    // Waits until the output has been quiet for `idle`; a send in between
    // moves the deadline, which the handler sees and waits for the rest.
    void arm(const std::shared_ptr<State>& self, Clock::time_point at) {
        armed = true;
        timer.expires_at(at);
        timer.async_wait([w = std::weak_ptr<State>(self)](const boost::system::error_code& ec) {
            auto s = w.lock();
            if (ec || !s) return;
            s->armed = false;
            if (s->since == 0) return;
            auto due = s->last_sent + s->policy.idle;
            if (Clock::now() < due) return s->arm(s, due);
            s->fire();
        });
    }
};

AckRequester::AckRequester(asio::io_context& io, Policy policy, std::function<void()> request)
    : state_(std::make_shared<State>(io, policy, std::move(request))) {}

AckRequester::~AckRequester() { state_->timer.cancel(); }

void AckRequester::sent() {
    auto& s = *state_;
    ++s.since;
    s.last_sent = Clock::now();
    if (s.since >= s.policy.every) return s.fire();
    if (!s.armed) s.arm(state_, s.last_sent + s.policy.idle);
}

void AckRequester::acknowledged(std::size_t unacked) {
    if (unacked == 0) state_->since = 0;
}

void AckRequester::cancel() {
    state_->since = 0;
    state_->armed = false;
    state_->timer.cancel();
}

std::size_t AckRequester::since_request() const { return state_->since; }

}  // namespace xpmn::client
