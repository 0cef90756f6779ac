#include "xmpp/jingle/ibb_stream.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <utility>

#include "xmpp/core/stanza.hpp"
#include "xmpp/core/base64.hpp"
#include "xmpp/jingle/ibb_registry.hpp"

namespace xpmn::jingle {

namespace {

constexpr std::chrono::milliseconds kControlTimeout{15000};  // <open/>, <close/>: wire profile §8

std::optional<unsigned long> number_attr(const xml::Element& e, std::string_view name, unsigned long max) {
    std::string v = e.attr_or(name);
    unsigned long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n > max) return std::nullopt;
    return n;
}

}  // namespace

IbbStream::IbbStream(IbbRegistry& registry, Jid peer, std::string sid, Options options)
    : registry_(&registry),
      registry_alive_(registry.alive_),
      peer_(std::move(peer)),
      sid_(std::move(sid)),
      options_(options),
      executor_(registry.io().get_executor()),
      timer_(registry.io()),
      seq_out_(options.first_seq),
      seq_in_(options.first_seq) {
    options_.block_size = std::clamp<std::size_t>(options_.block_size, 1, 65535);
    options_.window = std::max<std::size_t>(options_.window, 1);
}

IbbStream::~IbbStream() {
    if (state_ == State::Open && !registry_alive_.expired()) {
        // Dropped without close(): the peer learns it is over.
        xml::Element close("close", kIbbNs);
        close.set_attr("sid", sid_);
        auto iq = stanza::iq("set", peer_.str());
        iq.add_child(std::move(close));
        registry_->router().send_iq(std::move(iq), kControlTimeout, {});
    }
    unregister();
}

void IbbStream::unregister() {
    if (!registry_alive_.expired()) registry_->forget(*this);
}

void IbbStream::send(xml::Element payload, std::chrono::milliseconds timeout, client::IqCallback done) {
    if (registry_alive_.expired()) return;
    auto iq = stanza::iq("set", peer_.str());
    iq.add_child(std::move(payload));
    registry_->router().send_iq(std::move(iq), timeout, [w = weak_from_this(), done = std::move(done)](const client::IqResponse& r) {
        if (w.lock() && done) done(r);
    });
}

void IbbStream::schedule(void (IbbStream::*step)()) {
    bool& posted = step == &IbbStream::pump ? pump_posted_ : delivery_posted_;
    if (posted) return;
    posted = true;
    boost::asio::post(executor(), [w = weak_from_this(), step] {
        auto self = w.lock();
        if (!self) return;
        (step == &IbbStream::pump ? self->pump_posted_ : self->delivery_posted_) = false;
        (self.get()->*step)();
    });
}

void IbbStream::open(std::function<void(Result<void>)> done) {
    if (state_ != State::Idle) {
        boost::asio::post(executor(), [done = std::move(done)] { done(Error{"unexpected-request", "already opened"}); });
        return;
    }
    state_ = State::Opening;
    xml::Element open("open", kIbbNs);
    open.set_attr("block-size", std::to_string(options_.block_size));
    open.set_attr("sid", sid_);
    open.set_attr("stanza", "iq");
    open_done_ = std::move(done);
    send(std::move(open), kControlTimeout, [this](const client::IqResponse& r) {
        auto done = std::move(open_done_);
        open_done_ = {};
        if (state_ != State::Opening) return;
        if (!r.ok()) {
            bool owner_closed = closed_;
            finish("the peer refused to open the in-band bytestream: " + r.error().describe());
            if (done && !owner_closed) done(r.error());
            return;
        }
        state_ = State::Open;
        schedule(&IbbStream::pump);
        if (closing_ && write_backlog() == 0) {
            send_close();
            finish({});
        }
        if (done && !closed_) done(Result<void>());
    });
}

void IbbStream::on_open(const xml::Element& open, client::IqResponder r) {
    if (state_ != State::Idle) return r.error("unexpected-request", "the in-band bytestream '" + sid_ + "' is already open");
    if (open.attr_or("stanza", "iq") != "iq")
        return r.error("feature-not-implemented", "only stanza='iq' is supported for in-band bytestream data");
    auto block = number_attr(open, "block-size", 65535);
    if (!block || *block == 0) return r.error("bad-request", "block-size must be a number from 1 to 65535");
    // XEP-0261: the block-size must not exceed what the Jingle negotiation agreed.
    if (*block > options_.block_size)
        return r.error("resource-constraint", "block-size " + std::to_string(*block) + " exceeds the negotiated " +
                                                  std::to_string(options_.block_size));
    options_.block_size = *block;
    state_ = State::Open;
    r.result();
    schedule(&IbbStream::pump);
    if (auto opened = std::exchange(opened_, {})) opened();
}

void IbbStream::start() {
    started_ = true;
    schedule(&IbbStream::deliver);
}

void IbbStream::resume_reading() {
    if (!paused_) return;
    paused_ = false;
    schedule(&IbbStream::deliver);
}

void IbbStream::write(std::string bytes) {
    if (closed_ || state_ == State::Ended || bytes.empty()) return;
    out_ += bytes;
    if (state_ == State::Open) schedule(&IbbStream::pump);
}

void IbbStream::pump() {
    if (state_ != State::Open) return;
    while (in_flight_ < options_.window && out_pos_ < out_.size()) {
        std::size_t n = std::min(options_.block_size, out_.size() - out_pos_);
        xml::Element data("data", kIbbNs);
        data.set_attr("seq", std::to_string(seq_out_++));
        data.set_attr("sid", sid_);
        data.add_text(base64_encode(std::string_view(out_).substr(out_pos_, n)));
        out_pos_ += n;
        ++in_flight_;
        in_flight_bytes_ += n;
        send(std::move(data), options_.data_timeout,
             [this, n](const client::IqResponse& r) { acknowledged(n, r); });
    }
    if (out_pos_ == out_.size()) {
        std::string().swap(out_);  // no capacity kept after a burst
        out_pos_ = 0;
    }
}

void IbbStream::acknowledged(std::size_t bytes, const client::IqResponse& r) {
    --in_flight_;
    in_flight_bytes_ -= bytes;
    if (state_ != State::Open) return;
    if (!r.ok()) return fail("the peer refused in-band data: " + r.error().describe());
    pump();
    if (write_backlog() > 0) return;
    if (closing_) {
        send_close();
        return finish({});
    }
    if (auto h = handlers_.on_drained) h();
}

void IbbStream::on_data(const xml::Element& data, client::IqResponder r) {
    if (closed_) return r.result();  // our owner closed it and no longer reads; the flush goes on
    if (state_ != State::Open) return r.error("item-not-found", "the in-band bytestream '" + sid_ + "' is not open");
    auto seq = number_attr(data, "seq", 65535);
    if (!seq) {
        r.error("bad-request", "seq must be a number from 0 to 65535");
        return fail("the peer sent in-band data without a valid seq");
    }
    if (*seq != seq_in_) {
        std::string why = "in-band data out of sequence (seq " + std::to_string(*seq) + ", expected " +
                          std::to_string(seq_in_) + ")";
        r.error("unexpected-request", why);
        return fail(why);
    }
    auto bytes = base64_decode(data.text());
    if (!bytes) {
        r.error("bad-request", "the in-band data is " + bytes.error().text);
        return fail("the peer sent in-band data that is " + bytes.error().text);
    }
    if (bytes->size() > options_.block_size) {
        r.error("bad-request", "the chunk exceeds the block-size " + std::to_string(options_.block_size));
        return fail("the peer sent a chunk over the block-size");
    }
    ++seq_in_;  // wraps from 65535 to 0
    if (!started_ || paused_ || !held_.empty()) {
        held_bytes_ += bytes->size();
        if (held_bytes_ > options_.max_held) {
            r.error("resource-constraint", "the receiver is paused and holds as much as it will");
            return fail("the peer kept sending in-band data without waiting for results");
        }
        held_.push_back(Held{std::move(*bytes), std::move(r)});
        return;
    }
    r.result();
    if (!bytes->empty())
        if (auto h = handlers_.on_data) h(*bytes);
}

void IbbStream::deliver() {
    if (unreported_end_ && started_) {
        auto reason = *std::exchange(unreported_end_, std::nullopt);
        if (auto closed = std::exchange(handlers_, {}).on_closed) closed(reason);
        return;
    }
    while (started_ && !paused_ && !closed_ && !held_.empty()) {
        Held h = std::move(held_.front());
        held_.pop_front();
        held_bytes_ -= h.bytes.size();
        h.responder.result();  // the sender may go on
        if (!h.bytes.empty())
            if (auto on_data = handlers_.on_data) on_data(h.bytes);
    }
    if (peer_closed_ && held_.empty() && started_ && !paused_) finish({});
}

void IbbStream::on_close(client::IqResponder r) {
    r.result();
    if (closed_) return finish({});
    peer_closed_ = true;
    state_ = State::Ended;  // nothing more leaves: the peer closed the whole bytestream
    unregister();
    std::string().swap(out_);
    out_pos_ = 0;
    schedule(&IbbStream::deliver);  // EOF after what is held
}

void IbbStream::send_close() {
    xml::Element close("close", kIbbNs);
    close.set_attr("sid", sid_);
    send(std::move(close), kControlTimeout, {});
}

void IbbStream::fail(const std::string& reason) {
    if (state_ == State::Open) send_close();
    finish(reason);
}

void IbbStream::release_held(std::string_view condition) {
    for (auto& h : held_) h.responder.error(condition, "the in-band bytestream was closed");
    held_.clear();
    held_bytes_ = 0;
}

void IbbStream::finish(const std::string& reason) {
    auto keep = std::move(keep_alive_);
    state_ = State::Ended;
    timer_.cancel();
    unregister();
    release_held("item-not-found");
    std::string().swap(out_);
    out_pos_ = 0;
    auto done = std::move(open_done_);
    open_done_ = {};
    opened_ = {};
    if (auto finished = std::exchange(finished_, {}))
        boost::asio::post(executor_, std::move(finished));  // never from inside close()/abort()
    if (closed_) return;
    closed_ = true;
    auto handlers = std::move(handlers_);
    handlers_ = {};
    if (done) done(Error{"service-unavailable", reason});
    if (handlers.on_closed) handlers.on_closed(reason);
    else if (!started_) unreported_end_ = reason;  // the owner has not listened yet
}

void IbbStream::close() {
    if (closed_) return;
    closed_ = true;
    closing_ = true;
    handlers_ = {};
    unreported_end_.reset();
    release_held("item-not-found");
    // What was written goes out now, not from a posted pump: an owner that
    // ends its XMPP session right after close() (a command-line controller
    // on exit) would otherwise end it before the last data IQs were sent,
    // and the peer would see the session end without that data. Beyond the
    // window the rest waits for acknowledgements, as always.
    pump();
    if (state_ == State::Open && write_backlog() == 0) {
        send_close();
        return finish({});
    }
    if (state_ != State::Open && state_ != State::Opening) return finish({});
    keep_alive_ = shared_from_this();  // the flush goes on if the owner lets go now
    // A peer that does not acknowledge must not keep our bytes for ever.
    timer_.expires_after(options_.close_deadline);
    timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (!ec && self && self->state_ != State::Ended) self->abort();
    });
}

void IbbStream::abort() {
    closed_ = true;
    handlers_ = {};
    unreported_end_.reset();
    if (state_ == State::Open) send_close();
    finish({});
}

}  // namespace xpmn::jingle
