#include "xmpp/net/memory_pair.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>

namespace xpmn::net {

namespace asio = boost::asio;

std::pair<std::shared_ptr<MemoryStream>, std::shared_ptr<MemoryStream>> make_memory_pair(asio::io_context& io,
                                                                                         MemoryPairOptions options) {
    options.max_in_flight = std::max<std::size_t>(options.max_in_flight, 1);
    auto a = std::make_shared<MemoryStream>(io, options);
    auto b = std::make_shared<MemoryStream>(io, options);
    a->peer_ = b;
    b->peer_ = a;
    return {a, b};
}

MemoryStream::MemoryStream(asio::io_context& io, MemoryPairOptions options) : executor_(io.get_executor()), timer_(io), options_(options) {}

MemoryStream::~MemoryStream() {
    // Dropped without close(): the peer sees a reset, as after a crash.
    if (!closed_ || closing_) reset_peer();
}

std::size_t MemoryStream::in_flight() const {
    auto peer = peer_.lock();
    return peer ? peer->in_.size() - peer->in_pos_ : 0;
}

void MemoryStream::start() {
    started_ = true;
    schedule_delivery();
}

void MemoryStream::resume_reading() {
    if (!paused_) return;
    paused_ = false;
    schedule_delivery();
}

void MemoryStream::write(std::string bytes) {
    if (closed_ || bytes.empty()) return;
    ++write_calls_;
    out_ += bytes;
    schedule_pump();
}

// Runs `step` from a posted task, once however often it is asked for meanwhile.
void MemoryStream::post_once(bool MemoryStream::*posted, void (MemoryStream::*step)()) {
    if (this->*posted) return;
    this->*posted = true;
    asio::post(executor(), [w = weak_from_this(), posted, step] {
        if (auto s = w.lock()) {
            s.get()->*posted = false;
            (s.get()->*step)();
        }
    });
}

void MemoryStream::schedule_pump() { post_once(&MemoryStream::pump_posted_, &MemoryStream::pump); }

void MemoryStream::schedule_delivery() { post_once(&MemoryStream::delivery_posted_, &MemoryStream::deliver); }

// Moves what fits from out_ onto the wire, i.e. into the peer's in_.
void MemoryStream::pump() {
    if (out_pos_ == out_.size()) return;
    auto peer = peer_.lock();
    if (!peer || peer->closed_ || peer->peer_reset_) {
        // Nobody reads any more: the bytes are lost, as on a reset connection.
        sent_everything();
        return;
    }
    std::size_t room = options_.max_in_flight - std::min(options_.max_in_flight, peer->in_.size() - peer->in_pos_);
    std::size_t n = std::min(room, out_.size() - out_pos_);
    if (n == 0) return;  // the peer's delivery calls pump() again when it has read
    peer->in_.append(out_, out_pos_, n);
    out_pos_ += n;
    peer->schedule_delivery();
    if (out_pos_ == out_.size()) sent_everything();
}

void MemoryStream::sent_everything() {
    std::string().swap(out_);  // no capacity kept after a burst
    out_pos_ = 0;
    if (closing_) {
        closing_ = false;
        timer_.cancel();
        if (auto peer = peer_.lock()) {
            peer->peer_ended_ = true;
            peer->schedule_delivery();
        }
        return;
    }
    if (auto h = handlers_.on_drained; h && !closed_) h();
}

void MemoryStream::deliver() {
    if (closed_) return;
    if (peer_reset_) return end_with("connection reset by peer");
    bool consumed = false;
    while (started_ && !paused_ && in_pos_ < in_.size()) {
        std::size_t n = std::min(kMaxDelivery, in_.size() - in_pos_);
        std::string piece = in_.substr(in_pos_, n);  // on_data may write back into this pair
        in_pos_ += n;
        consumed = true;
        if (auto h = handlers_.on_data) h(piece);
        if (closed_) return;
    }
    if (in_pos_ == in_.size()) {
        std::string().swap(in_);
        in_pos_ = 0;
    }
    if (consumed)
        if (auto peer = peer_.lock()) peer->schedule_pump();  // room on the wire again
    if (started_ && !paused_ && in_.empty() && peer_ended_) end_with({});
}

void MemoryStream::end_with(const std::string& reason) {
    closed_ = true;
    std::string().swap(in_);
    in_pos_ = 0;
    auto h = std::move(handlers_.on_closed);
    handlers_ = {};
    if (h) h(reason);
}

void MemoryStream::close() {
    if (closed_) return;
    closed_ = true;
    handlers_ = {};
    std::string().swap(in_);
    in_pos_ = 0;
    closing_ = true;
    if (out_pos_ == out_.size()) return sent_everything();
    // A peer that does not read must not keep this end's bytes for ever.
    timer_.expires_after(options_.close_deadline);
    timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto s = w.lock();
        if (!ec && s && s->closing_) s->abort();
    });
}

void MemoryStream::abort() {
    bool was_open = !closed_ || closing_;
    closed_ = true;
    closing_ = false;
    handlers_ = {};
    timer_.cancel();
    std::string().swap(out_);
    out_pos_ = 0;
    std::string().swap(in_);
    in_pos_ = 0;
    if (was_open) reset_peer();
}

void MemoryStream::reset_peer() {
    auto peer = peer_.lock();
    if (!peer || peer->closed_) return;
    peer->peer_reset_ = true;
    std::string().swap(peer->in_);  // a reset discards what the reader has not read
    peer->in_pos_ = 0;
    peer->schedule_delivery();
}

}  // namespace xpmn::net
