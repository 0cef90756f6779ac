#include "xmpp/jingle/ibb_transport.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>

#include "xmpp/jingle/jingle_element.hpp"

namespace xpmn::jingle {

namespace {

Result<std::size_t> block_size_of(const xml::Element& t) {
    std::string v = t.attr_or("block-size");
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n == 0 || n > 65535)
        return Error{"bad-request", "the IBB transport needs a block-size from 1 to 65535"};
    return n;
}

}  // namespace

IbbTransport::IbbTransport(IbbRegistry& registry, Jid peer, std::string sid, IbbStream::Options options, bool initiator)
    : registry_(registry), peer_(std::move(peer)), sid_(std::move(sid)), options_(options), initiator_(initiator) {}

std::shared_ptr<IbbTransport> IbbTransport::offer(IbbRegistry& registry, const Jid& peer, IbbStream::Options options) {
    options.block_size = std::clamp<std::size_t>(options.block_size, 1, IbbStream::kMaxBlockSize);
    std::string sid = random_sid();
    while (registry.in_use(peer, sid)) sid = random_sid();
    return std::shared_ptr<IbbTransport>(new IbbTransport(registry, peer, sid, options, true));
}

Result<std::shared_ptr<IbbTransport>> IbbTransport::answer(IbbRegistry& registry, const Jid& peer,
                                                           const xml::Element& offer, IbbStream::Options options) {
    if (offer.name() != "transport" || offer.ns() != kIbbTransportNs)
        return Error{"bad-request", "not an IBB transport"};
    if (offer.attr_or("stanza", "iq") != "iq")
        return Error{"feature-not-implemented", "only stanza='iq' is supported for in-band bytestreams"};
    std::string sid = offer.attr_or("sid");
    if (sid.empty()) return Error{"bad-request", "the IBB transport needs a sid"};
    auto offered = block_size_of(offer);
    if (!offered) return offered.error();
    options.block_size = std::min({*offered, std::clamp<std::size_t>(options.block_size, 1, IbbStream::kMaxBlockSize)});
    auto stream = registry.create(peer, sid, options);
    if (!stream) return stream.error();
    std::shared_ptr<IbbTransport> t(new IbbTransport(registry, peer, sid, options, false));
    t->stream_ = *stream;
    return t;
}

xml::Element IbbTransport::element() const {
    xml::Element t("transport", kIbbTransportNs);
    t.set_attr("block-size", std::to_string(options_.block_size));
    t.set_attr("sid", sid_);
    return t;
}

Result<void> IbbTransport::accepted(const xml::Element& answer) {
    if (answer.name() != "transport" || answer.ns() != kIbbTransportNs)
        return Error{"bad-request", "the answer is not an IBB transport"};
    if (answer.attr_or("sid") != sid_) return Error{"bad-request", "the IBB answer names another sid"};
    auto block = block_size_of(answer);
    if (!block) return block.error();
    if (*block > options_.block_size)
        return Error{"bad-request", "the IBB answer raises the block-size to " + std::to_string(*block)};
    options_.block_size = *block;
    return {};
}

void IbbTransport::connect(ConnectHandler done) {
    done_ = std::move(done);
    if (initiator_) {
        auto stream = registry_.create(peer_, sid_, options_);
        if (!stream) return connected(stream.error());
        stream_ = *stream;
        stream_->open([w = weak_from_this()](Result<void> r) {
            auto self = w.lock();
            if (!self) return;
            if (!r) return self->connected(r.error());
            self->connected(net::ByteStreamPtr(self->stream_));
        });
        return;
    }
    if (stream_->is_open()) {
        boost::asio::post(stream_->executor(), [w = weak_from_this()] {
            if (auto self = w.lock()) self->connected(net::ByteStreamPtr(self->stream_));
        });
        return;
    }
    // The initiator's <open/> follows its ack of our session-accept; bounded all the same.
    timer_ = std::make_unique<boost::asio::steady_timer>(registry_.io(), open_timeout);
    timer_->async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (ec || !self) return;
        self->connected(Error{"remote-server-timeout", "the peer did not open the in-band bytestream"});
    });
    stream_->set_opened_handler([w = weak_from_this()] {
        if (auto self = w.lock()) self->connected(net::ByteStreamPtr(self->stream_));
    });
}

void IbbTransport::connected(Result<net::ByteStreamPtr> result) {
    if (timer_) timer_->cancel();
    auto done = std::move(done_);
    done_ = {};
    if (!result && stream_) {
        stream_->abort();
        stream_.reset();
    }
    if (done) done(std::move(result));
}

void IbbTransport::cancel() {
    done_ = {};
    if (timer_) timer_->cancel();
    if (stream_ && !stream_->is_open()) stream_->abort();
    stream_.reset();
}

}  // namespace xpmn::jingle
