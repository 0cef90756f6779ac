#include "xmpp/oob/oob_sender.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <utility>

namespace xpmn::oob {

OobSender::OobSender(net::ByteStreamPtr stream) : stream_(std::move(stream)) {}

std::string OobSender::next_id() { return std::to_string(next_id_++); }

OobSender::Iter OobSender::find(const std::string& id) {
    return std::find_if(outgoing_.begin(), outgoing_.end(), [&](const Outgoing& o) { return o.id == id; });
}

Result<void> OobSender::send(std::string id, SourcePtr source, Finished finished) {
    if (!is_valid_id(id)) return Error{"bad-request", "OOB id '" + id + "' is not [A-Za-z0-9]{1,64}"};
    if (!source) return Error{"bad-request", "OOB id " + id + " has no source"};
    if (closed_) return Error{"service-unavailable", "the OOB stream is closed"};
    if (find(id) != outgoing_.end()) return Error{"conflict", "OOB id " + id + " is already being sent"};
    outgoing_.push_back(Outgoing{std::move(id), std::move(source), std::move(finished), next_serial_++});
    // pump() only starts reads, whose completions come from the loop.
    pump();
    return {};
}

void OobSender::abort(const std::string& id) {
    auto it = find(id);
    if (it == outgoing_.end()) return;
    if (it->reading) --reads_;
    it->source->cancel();
    end(it, Error{"undefined-condition", "OOB id " + id + " aborted"});
    pump();
}

void OobSender::on_drained() { pump(); }

void OobSender::close(const Error& error) {
    if (closed_) return;
    closed_ = true;
    while (!outgoing_.empty()) {
        outgoing_.front().source->cancel();
        end(outgoing_.begin(), error);
    }
    reads_ = 0;
}

// One read per id in rotation while there is room: each id read moves to the
// back, so the ids that waited go first next time.
void OobSender::pump() {
    for (std::size_t turns = outgoing_.size(); turns > 0 && !closed_; --turns) {
        if (stream_->write_backlog() + reads_ * kMaxChunkSize >= kMaxPending) return;  // on_drained resumes
        auto it = outgoing_.begin();
        outgoing_.splice(outgoing_.end(), outgoing_, it);
        if (it->reading) continue;
        it->reading = true;
        ++reads_;
        it->source->read(kMaxChunkSize, [w = weak_from_this(), serial = it->serial](Result<std::string> piece) {
            if (auto self = w.lock()) self->on_read(serial, std::move(piece));
        });
    }
}

void OobSender::on_read(std::uint64_t serial, Result<std::string> piece) {
    auto it = std::find_if(outgoing_.begin(), outgoing_.end(), [&](const Outgoing& o) { return o.serial == serial; });
    if (it == outgoing_.end() || !it->reading) return;  // a source that called back after cancel()
    it->reading = false;
    --reads_;
    if (!piece) {
        end(it, Error{piece.error().condition, "OOB id " + it->id + " ended early: " + piece.error().text});
    } else if (piece->empty()) {
        end(it, Result<void>{});
    } else {
        // A source should give at most a chunk; more is split, never refused.
        const std::string& data = *piece;
        std::string frame;
        frame.reserve(data.size() + kMaxIdLength + 16);
        for (std::size_t at = 0; at < data.size(); at += kMaxChunkSize)
            append_chunk(frame, it->id, std::string_view(data).substr(at, kMaxChunkSize));
        stream_->write(std::move(frame));
    }
    pump();
}

// Ends an id on the wire (unless the stream is gone) and reports it.
void OobSender::end(Iter it, Result<void> outcome) {
    if (!closed_) {
        std::string frame;
        append_end(frame, it->id);
        stream_->write(std::move(frame));
    }
    auto finished = std::move(it->finished);
    outgoing_.erase(it);
    // Nothing more to send for now: the last bytes must not wait in a relay.
    if (outgoing_.empty() && !closed_) stream_->push_through();
    if (!finished) return;
    boost::asio::post(stream_->executor(), [w = weak_from_this(), finished = std::move(finished),
                                            outcome = std::move(outcome)]() mutable {
        if (w.lock()) finished(std::move(outcome));
    });
}

}  // namespace xpmn::oob
