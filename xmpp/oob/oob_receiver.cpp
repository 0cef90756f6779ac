#include "xmpp/oob/oob_receiver.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace xpmn::oob {

OobReceiver::OobReceiver(net::ByteStreamPtr stream, Options options, Hooks hooks)
    : stream_(std::move(stream)), options_(options), hooks_(std::move(hooks)), deadline_(stream_->executor()) {}

Result<void> OobReceiver::expect(const std::string& id, std::uint64_t size, Sink sink) {
    if (!is_valid_id(id)) return Error{"bad-request", "OOB id '" + id + "' is not [A-Za-z0-9]{1,64}"};
    auto it = incoming_.find(id);
    bool complete = it != incoming_.end() && it->second.ended && !it->second.discarding;
    if (closed_ && !complete) return Error{close_error_.condition, "OOB id " + id + ": " + close_error_.text};
    if (it != incoming_.end() && (it->second.sink || it->second.discarding))
        return Error{"conflict", "OOB id " + id + " is already expected"};
    if (it == incoming_.end()) it = incoming_.emplace(id, Incoming{}).first;
    it->second.sink = std::make_shared<Sink>(std::move(sink));
    it->second.size = size;
    schedule_flush();  // early bytes (or the end) go to the sink from the loop
    return {};
}

void OobReceiver::pause(const std::string& id) {
    if (auto it = incoming_.find(id); it != incoming_.end() && it->second.sink) it->second.paused = true;
}

void OobReceiver::resume(const std::string& id) {
    auto it = incoming_.find(id);
    if (it == incoming_.end() || !it->second.paused) return;
    it->second.paused = false;
    schedule_flush();
}

void OobReceiver::cancel(const std::string& id) {
    auto it = incoming_.find(id);
    if (it == incoming_.end() || it->second.discarding) return;
    auto& in = it->second;
    in.sink.reset();
    in.paused = false;
    in.discarding = true;  // erased by its end, or by flush() when it has ended already
    drop_held(in);
    schedule_flush();
}

void OobReceiver::drop_held(Incoming& in) {
    held_total_ -= in.held.size();
    std::string().swap(in.held);
}

void OobReceiver::on_data(std::string_view bytes) {
    if (closed_) return;
    auto self = shared_from_this();  // a sink may drop the multiplexer
    if (!input_.empty()) {
        input_.append(bytes);
        return parse_input();
    }
    auto parsed = parse(bytes);
    if (!parsed) return hooks_.on_broken(parsed.error());
    if (!closed_) input_.assign(bytes);  // what reading stopped before (copied once)
    update_reading();
}

void OobReceiver::parse_input() {
    std::string_view in(input_);
    auto parsed = parse(in);
    if (!parsed) return hooks_.on_broken(parsed.error());
    if (closed_) return;
    input_.erase(0, input_.size() - in.size());
    if (input_.empty()) std::string().swap(input_);
    update_reading();
}

Result<void> OobReceiver::parse(std::string_view& in) {
    while (!in.empty() && !closed_ && !must_stop_reading()) {
        auto event = parser_.next(in);
        if (!event) return event.error();
        if (!*event) break;
        const auto& e = **event;
        if (e.kind == ChunkParser::Event::Kind::end) {
            on_end_of(e.id);
        } else if (auto r = on_chunk(e.id, e.data); !r) {
            return r;
        }
    }
    return {};
}

Result<void> OobReceiver::on_chunk(std::string_view id, std::string_view data) {
    auto it = entry(id);
    auto& in = it->second;
    if (in.discarding) return {};
    if (in.ended) return Error{"bad-request", "OOB framing: data of id " + it->first + " after its end"};
    if (in.sink && !in.paused && in.held.empty()) {
        deliver(it, data);
    } else {
        in.held.append(data);
        held_total_ += data.size();
    }
    return {};
}

void OobReceiver::on_end_of(std::string_view id) {
    auto it = entry(id);
    auto& in = it->second;
    if (in.discarding) {
        incoming_.erase(it);
        return;
    }
    in.ended = true;
    if (in.sink && !in.paused && in.held.empty()) finish(it, outcome(it->first, in));
}

// The id's entry; a new one (chunks before expect()) starts its deadline.
OobReceiver::Map::iterator OobReceiver::entry(std::string_view id) {
    auto it = incoming_.find(id);
    if (it != incoming_.end()) return it;
    it = incoming_.emplace(std::string(id), Incoming{}).first;
    it->second.seen = std::chrono::steady_clock::now();
    arm_deadline();
    return it;
}

// One timer for all early ids, set for the oldest.
void OobReceiver::arm_deadline() {
    if (deadline_armed_ || closed_) return;
    std::optional<std::chrono::steady_clock::time_point> oldest;
    for (const auto& [id, in] : incoming_)
        if (!in.sink && !in.discarding && (!oldest || in.seen < *oldest)) oldest = in.seen;
    if (!oldest) return;
    deadline_armed_ = true;
    deadline_.expires_at(*oldest + options_.early_deadline);
    deadline_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        if (auto self = w.lock(); self && !ec) self->on_deadline();
    });
}

void OobReceiver::on_deadline() {
    deadline_armed_ = false;
    if (closed_) return;
    auto self = shared_from_this();  // the owner may drop the multiplexer in on_unclaimed
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> unclaimed;
    for (auto& [id, in] : incoming_) {
        if (in.sink || in.discarding || in.seen + options_.early_deadline > now) continue;
        in.discarding = true;
        drop_held(in);
        unclaimed.push_back(id);
    }
    schedule_flush();  // reading may go on now
    arm_deadline();
    for (const auto& id : unclaimed)
        if (!closed_ && hooks_.on_unclaimed) hooks_.on_unclaimed(id);
}

// Gives bytes to the id's sink; an id that brings more than announced fails.
void OobReceiver::deliver(Map::iterator it, std::string_view data) {
    auto& in = it->second;
    auto sink = in.sink;  // alive through the callback even if it cancels its id
    if (in.received + data.size() > in.size) {
        in.sink.reset();
        in.discarding = true;
        drop_held(in);
        schedule_flush();  // erases it if it has ended already
        sink->on_end(Error{"bad-request", "OOB id " + it->first + " brought more than the " +
                                              std::to_string(in.size) + " bytes announced"});
        return;
    }
    in.received += data.size();
    sink->on_data(data);
}

Result<void> OobReceiver::outcome(const std::string& id, const Incoming& in) const {
    if (in.received == in.size) return {};
    // The sender ends an id early when its source fails or on abort.
    return Error{"undefined-condition", "OOB id " + id + " ended after " + std::to_string(in.received) + " of " +
                                            std::to_string(in.size) + " bytes"};
}

void OobReceiver::finish(Map::iterator it, Result<void> result) {
    auto sink = std::move(it->second.sink);
    drop_held(it->second);
    incoming_.erase(it);
    if (sink) sink->on_end(std::move(result));
}

// Gives held bytes to a sink that can take them, in chunk-sized pieces so
// that a sink pausing in between is honoured; then its end if it came.
void OobReceiver::drain_held(Map::iterator it) {
    auto& in = it->second;
    while (in.sink && !in.paused && !in.held.empty()) {
        std::size_t n = std::min(kMaxChunkSize, in.held.size());
        std::string piece = in.held.substr(0, n);
        in.held.erase(0, n);
        held_total_ -= n;
        if (in.held.empty()) std::string().swap(in.held);
        deliver(it, piece);
    }
    if (in.sink && !in.paused && in.held.empty() && in.ended) finish(it, outcome(it->first, in));
}

void OobReceiver::schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    boost::asio::post(stream_->executor(), [w = weak_from_this()] {
        if (auto self = w.lock()) self->flush();
    });
}

void OobReceiver::flush() {
    flush_posted_ = false;
    std::vector<std::string> ready;
    for (auto it = incoming_.begin(); it != incoming_.end();) {
        auto& in = it->second;
        if (in.discarding && in.ended) {
            it = incoming_.erase(it);
            continue;
        }
        if (in.sink && !in.paused && (!in.held.empty() || in.ended)) ready.push_back(it->first);
        ++it;
    }
    for (const auto& id : ready)
        if (auto it = incoming_.find(id); it != incoming_.end()) drain_held(it);
    if (closed_) return;
    if (!input_.empty()) return parse_input();  // the bytes kept while reading was stopped come first
    update_reading();
}

bool OobReceiver::must_stop_reading() const {
    if (held_total_ >= kMaxHeld) return true;
    std::size_t early = 0;
    for (const auto& [id, in] : incoming_) {
        if (in.held.size() >= kMaxHeldPerId) return true;
        if (!in.sink && !in.discarding) ++early;
    }
    return early >= kMaxEarlyIds;
}

void OobReceiver::update_reading() {
    if (closed_) return;
    bool stop = must_stop_reading();
    if (stop && !stream_paused_) {
        stream_paused_ = true;
        stream_->pause_reading();
    } else if (!stop && stream_paused_ && input_.empty()) {
        stream_paused_ = false;
        stream_->resume_reading();
    }
}

void OobReceiver::close(const Error& error) {
    if (closed_) return;
    closed_ = true;
    close_error_ = error;
    std::string().swap(input_);
    deadline_.cancel();
    std::vector<std::pair<std::string, std::shared_ptr<Sink>>> failed;
    for (auto& [id, in] : incoming_) {
        if (in.ended && !in.discarding) continue;  // complete: still delivered
        if (in.sink) failed.emplace_back(id, std::move(in.sink));
        in.discarding = true;
        drop_held(in);
    }
    for (auto& [id, sink] : failed)
        boost::asio::post(stream_->executor(), [w = weak_from_this(), sink = std::move(sink),
                                                e = Error{error.condition, "OOB id " + id + ": " + error.text}] {
            if (auto self = w.lock(); self && !self->shut_down_) sink->on_end(e);
        });
}

void OobReceiver::shutdown() {
    closed_ = true;
    deadline_.cancel();
    shut_down_ = true;
    for (auto& [id, in] : incoming_) {
        in.sink.reset();
        in.discarding = true;
        drop_held(in);
    }
    std::string().swap(input_);
}

}  // namespace xpmn::oob
