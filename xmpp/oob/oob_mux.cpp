#include "xmpp/oob/oob_mux.hpp"

#include <utility>

namespace xpmn::oob {

OobMux::OobMux(net::ByteStreamPtr stream, Handlers handlers)
    : stream_(std::move(stream)), handlers_(std::move(handlers)), sender_(std::make_shared<OobSender>(stream_)) {}

std::shared_ptr<OobMux> OobMux::create(net::ByteStreamPtr stream, Handlers handlers, OobReceiver::Options options) {
    std::shared_ptr<OobMux> mux(new OobMux(std::move(stream), std::move(handlers)));
    std::weak_ptr<OobMux> w = mux;
    mux->receiver_ = std::make_shared<OobReceiver>(
        mux->stream_, options,
        OobReceiver::Hooks{[w](const Error& error) {
                               // The peer broke the framing: nothing after it can be trusted.
                               if (auto self = w.lock()) {
                                   self->stream_->close();
                                   self->on_stream_end(error.text);
                               }
                           },
                           [w](const std::string& id) {
                               if (auto self = w.lock(); self && self->handlers_.on_unclaimed)
                                   self->handlers_.on_unclaimed(id);
                           }});
    mux->stream_->set_handlers({
        [w](std::string_view bytes) {
            if (auto self = w.lock()) self->receiver_->on_data(bytes);
        },
        [w](const std::string& reason) {
            if (auto self = w.lock()) self->on_stream_end(reason);
        },
        [w] {
            if (auto self = w.lock()) self->sender_->on_drained();
        },
    });
    mux->stream_->start();
    return mux;
}

OobMux::~OobMux() {
    receiver_->shutdown();
    sender_->close(Error{"service-unavailable", "the OOB session is gone"});  // cancels the sources
    if (!closed_) stream_->close();
}

void OobMux::end_all(const Error& error) {
    closed_ = true;
    sender_->close(error);
    receiver_->close(error);
}

void OobMux::on_stream_end(const std::string& reason) {
    if (closed_) return;
    auto self = shared_from_this();  // the owner may drop us in on_closed
    end_all(Error{"service-unavailable",
                  reason.empty() ? "the peer closed the OOB stream" : "the OOB stream failed: " + reason});
    if (auto h = std::move(handlers_.on_closed)) h(reason);
}

void OobMux::close() {
    if (closed_) return;
    end_all(Error{"service-unavailable", "the OOB session was closed"});
    stream_->close();
}

}  // namespace xpmn::oob
