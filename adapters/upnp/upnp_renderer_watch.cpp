// UpnpRenderer: watching. LastChange events of both services reach the
// listener as they come; the position, which no renderer events, is polled
// once a second (GetPositionInfo) and reported only when it jumps (a seek
// from elsewhere, the next track) or the track changes, since the profile
// extrapolates it in between. The poll also asks for the transport state
// (GetTransportInfo): gupnp drops a NOTIFY whose SEQ it did not expect and
// resubscribes, and with gmediarender (libupnp) the new subscription's
// initial event can race its SUBSCRIBE answer, so a LastChange (a pause, a
// play) may never arrive; the poll reports such a change within a second.
#include <libgupnp/gupnp.h>
#include <spdlog/spdlog.h>

#include "adapters/upnp/last_change.hpp"
#include "adapters/upnp/upnp_renderer.hpp"
#include "adapters/upnp/upnp_time.hpp"

namespace xpmn::upnp {

void UpnpRenderer::watch(ChangeListener listener) {
    if (gone_) return;
    listener_ = std::move(listener);
    bool on = static_cast<bool>(listener_);
    subscribe(on);
    if (on && !polling_) {
        polling_ = true;
        last_poll_.reset();
        schedule_poll();
    } else if (!on) {
        polling_ = false;
        poll_timer_.cancel();
    }
}

void UpnpRenderer::subscribe(bool on) {
    if (on == subscribed_) return;
    subscribed_ = on;
    resubscribes_ = 0;
    auto notify = reinterpret_cast<GUPnPServiceProxyNotifyCallback>(&UpnpRenderer::on_last_change);
    for (GUPnPServiceProxy* proxy : {transport_.proxy(), rendering_.proxy()}) {
        if (on) {
            gupnp_service_proxy_add_notify(proxy, "LastChange", G_TYPE_STRING, notify, this);
            g_signal_connect(proxy, "subscription-lost", G_CALLBACK(&UpnpRenderer::on_subscription_lost), this);
            gupnp_service_proxy_set_subscribed(proxy, TRUE);
        } else {
            g_signal_handlers_disconnect_by_data(proxy, this);
            gupnp_service_proxy_set_subscribed(proxy, FALSE);
            gupnp_service_proxy_remove_notify(proxy, "LastChange", notify, this);
        }
    }
}

// A SUBSCRIBE or its renewal failed (a busy renderer, a lost NOTIFY port):
// gupnp gives up on it, so subscribe again while someone watches.
void UpnpRenderer::on_subscription_lost(void* proxy, void* error, void* data) {
    auto* self = static_cast<UpnpRenderer*>(data);
    auto* e = static_cast<GError*>(error);
    spdlog::warn("upnp: renderer '{}': event subscription lost ({})", self->name_,
                 e ? e->message : "unknown");
    // A few times per watch: a renderer that refuses every SUBSCRIBE is left to the position poll.
    if (self->subscribed_ && self->resubscribes_++ < 3)
        gupnp_service_proxy_set_subscribed(GUPNP_SERVICE_PROXY(proxy), TRUE);
}

void UpnpRenderer::on_last_change(void*, const char*, void* value, void* data) {
    auto* self = static_cast<UpnpRenderer*>(data);
    auto* v = static_cast<GValue*>(value);
    const char* xml = G_VALUE_HOLDS_STRING(v) ? g_value_get_string(v) : nullptr;
    if (!xml || !*xml) return;
    auto change = parse_last_change(xml);
    if (!change) {
        spdlog::debug("upnp: renderer '{}': a LastChange without instance 0 ignored", self->name_);
        return;
    }
    self->changed(*change);
}

void UpnpRenderer::changed(const LastChange& change) {
    profiles::PlayerChange c;
    c.status = change.status();
    c.controls = change.controls();
    if ((c.status || c.controls) && listener_) {
        auto listener = listener_;  // it may unset itself
        listener(c);
    }
}

void UpnpRenderer::schedule_poll() {
    poll_timer_.expires_after(poll_interval_);
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    poll_timer_.async_wait([weak](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || !self->polling_) return;
        self->poll();
    });
}

void UpnpRenderer::poll() {
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    transport("GetTransportInfo", {}, {"CurrentTransportState"}, [weak](const ActionReply& info) {
        auto self = weak.lock();
        if (!self || !self->polling_) return;
        if (!info.ok()) return self->schedule_poll();
        self->poll_position(info.get("CurrentTransportState"));
    });
}

void UpnpRenderer::poll_position(std::string state) {
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    auto asked = std::chrono::steady_clock::now();
    transport("GetPositionInfo", {}, {"RelTime", "TrackURI"}, [weak, asked, state](const ActionReply& r) {
        auto self = weak.lock();
        if (!self || !self->polling_) return;
        if (r.ok()) {
            auto c = poll_change(self->last_poll_,
                                 RendererPoll{parse_upnp_time(r.get("RelTime")), r.get("TrackURI"), state, asked});
            if ((c.status || c.seeked) && self->listener_) {
                auto listener = self->listener_;
                listener(c);
            }
        }
        self->schedule_poll();
    });
}

}  // namespace xpmn::upnp
