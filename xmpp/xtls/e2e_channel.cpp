#include "xmpp/xtls/e2e_channel.hpp"

#include <spdlog/spdlog.h>

#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::xtls {

std::shared_ptr<E2eChannel> E2eChannel::create(boost::asio::io_context& io, std::shared_ptr<stream::XmlStream> stream,
                                               client::Peer peer, StreamEnds ends, Method method) {
    std::shared_ptr<E2eChannel> channel(new E2eChannel(io, std::move(stream), std::move(peer), std::move(ends), method));
    channel->attach();
    return channel;
}

E2eChannel::E2eChannel(boost::asio::io_context& io, std::shared_ptr<stream::XmlStream> stream, client::Peer peer,
                       StreamEnds ends, Method method)
    : stream_(std::move(stream)), router_(io), peer_(std::move(peer)), ends_(std::move(ends)), method_(method) {
    router_.set_peer_resolver([this](const xml::Element&) { return peer_; });
    // XEP-0199 on every stream, as on c2s: the cheapest liveness probe.
    router_.on_iq("get", ns::ping, "ping", [](const client::Peer&, const xml::Element&, client::IqResponder r) {
        r.result();
    });
}

E2eChannel::~E2eChannel() {
    if (stream_) stream_->close();  // an owner that did not close: still end the stream properly
}

// Callbacks hold the channel weakly: a responder kept by a handler, or the
// stream, must not keep it alive or reach it after it is gone.
void E2eChannel::attach() {
    std::weak_ptr<E2eChannel> weak = std::static_pointer_cast<E2eChannel>(shared_from_this());
    router_.set_sender([weak](xml::Element e) {
        if (auto self = weak.lock()) self->send(std::move(e));
    });
    stream_->set_handlers({
        nullptr,
        [weak](xml::Element e) {
            if (auto self = weak.lock()) self->received(std::move(e));
        },
        [weak](const std::string& reason) {
            if (auto self = weak.lock()) self->ended(reason);
        },
    });
}

std::string E2eChannel::describe() const {
    return "e2e " + std::string(method_name(method_)) + " " + ends_.local.str() + " <-> " + peer_.describe();
}

void E2eChannel::send(xml::Element stanza) {
    if (closed()) {
        spdlog::debug("{}: stanza dropped, the stream has ended", describe());
        return;
    }
    remember_request(stanza);
    stanza.set_attr("from", ends_.local.str());
    stanza.set_attr("to", peer_.jid.str());
    stream_->send(stanza);
}

void E2eChannel::remember_request(const xml::Element& stanza) {
    if (stanza.name() != "iq") return;
    std::string type = stanza.attr_or("type");
    if (type != "get" && type != "set") return;
    std::string id = stanza.attr_or("id");
    request_to_[id] = stanza.attr_or("to");
    request_order_.push_back(std::move(id));
    while (request_order_.size() > kMaxRememberedRequests) {
        request_to_.erase(request_order_.front());
        request_order_.pop_front();
    }
}

void E2eChannel::received(xml::Element e) {
    if (closed()) return;
    if (e.ns() == ns::stream) {
        if (e.name() == "error") {
            std::string condition = e.elements().empty() ? "undefined-condition" : e.elements().front()->name();
            std::string text = e.child_text("text", ns::streams_err);
            ended("stream error from the peer: " + condition + (text.empty() ? "" : " (" + text + ")"));
        }
        return;  // <stream:features/> (empty on an end-to-end stream) and other stream nonzas
    }
    if (!stanza::is_stanza(e)) {
        std::string reason = "<" + e.name() + "/> of " + e.ns() + " is not a stanza";
        stream_->close("unsupported-stanza-type", reason);
        ended(reason);
        return;
    }
    std::string from = peer_.jid.str();
    std::string type = e.attr_or("type");
    if (e.name() == "iq" && (type == "result" || type == "error")) {
        // Answers are matched by id alone: give the router back the address it expects.
        if (auto it = request_to_.find(e.attr_or("id")); it != request_to_.end()) {
            from = it->second;
            request_to_.erase(it);
        }
    }
    if (from.empty()) e.remove_attr("from");
    else e.set_attr("from", from);
    e.set_attr("to", ends_.local.str());
    if (e.name() == "presence" && type == "unavailable") peer_gone(peer_);
    router_.dispatch(e);
}

void E2eChannel::ended(const std::string& reason) {
    if (closed()) return;
    end_reason_ = reason;
    if (reason.empty()) spdlog::info("{}: stream closed", describe());
    else spdlog::info("{}: stream ended: {}", describe(), reason);
    close();
}

// </stream:stream>, then TLS close_notify, then the transport's own close
// (XmlStream::close → TlsStream::close → the transport).
void E2eChannel::closing() {
    stream_->close();
    request_to_.clear();
    request_order_.clear();
    router_.fail_pending("recipient-unavailable", "the end-to-end stream ended");
}

}  // namespace xpmn::xtls
