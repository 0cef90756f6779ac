// UpnpRenderer: construction and the transport commands.
#include "adapters/upnp/upnp_renderer.hpp"

#include <boost/asio/post.hpp>
#include <libgupnp/gupnp.h>
#include <spdlog/spdlog.h>

#include "adapters/upnp/upnp_time.hpp"
#include "mappings/didl/didl_writer.hpp"

namespace xpmn::upnp {

namespace {

// The host of the description URL: where the renderer fetches from; and
// the bridge's address facing it. Unknown when either is missing.
std::optional<profiles::LanAddresses> addresses_of(const RendererInfo& info) {
    GUri* uri = g_uri_parse(info.location.c_str(), G_URI_FLAGS_NONE, nullptr);
    if (!uri) return std::nullopt;
    std::optional<profiles::LanAddresses> addresses;
    if (const char* h = g_uri_get_host(uri); h && *h && !info.local_address.empty())
        addresses = profiles::LanAddresses{h, info.local_address};
    g_uri_unref(uri);
    return addresses;
}

Error gone_error() { return {"service-unavailable", "the renderer is gone"}; }

}  // namespace

UpnpRenderer::UpnpRenderer(boost::asio::io_context& io, const RendererInfo& info, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds poll_interval)
    : io_(io),
      addresses_(addresses_of(info)),
      name_(info.friendly_name),
      transport_(info.av_transport, timeout, "the renderer"),
      rendering_(info.rendering_control, timeout, "the renderer"),
      poll_interval_(poll_interval),
      poll_timer_(io) {}

UpnpRenderer::~UpnpRenderer() { subscribe(false); }

void UpnpRenderer::gone() {
    gone_ = true;
    polling_ = false;  // a poll answer still on its way must not schedule another
    listener_ = nullptr;
    subscribe(false);
    poll_timer_.cancel();
    transport_.cancel_all();
    rendering_.cancel_all();
}

void UpnpRenderer::answer_later(Done done, Result<void> result) {
    boost::asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
}

void UpnpRenderer::act(ServiceAction& service, const std::string& action, const ServiceAction::Args& args,
                       const std::vector<std::string>& out, ServiceAction::Done done) {
    if (gone_) {
        boost::asio::post(io_, [done = std::move(done)] { done(ActionReply{gone_error(), 0, {}}); });
        return;
    }
    service.call(action, args, out, std::move(done));
}

void UpnpRenderer::transport(const std::string& action, ServiceAction::Args args, std::vector<std::string> out,
                             ServiceAction::Done done) {
    args.insert(args.begin(), {"InstanceID", "0"});
    act(transport_, action, args, out, std::move(done));
}

void UpnpRenderer::rendering(const std::string& action, ServiceAction::Args args, std::vector<std::string> out,
                             ServiceAction::Done done) {
    args.insert(args.begin(), {{"InstanceID", "0"}, {"Channel", "Master"}});
    act(rendering_, action, args, out, std::move(done));
}

void UpnpRenderer::open(std::vector<profiles::PlayableItem> playlist, Done done) {
    if (playlist.empty()) return answer_later(std::move(done), Error{"bad-request", "nothing to open"});
    playlist_ = std::move(playlist);
    play_entry(0, std::move(done));
}

void UpnpRenderer::play_entry(std::size_t index, Done done) {
    current_ = index;
    const auto& entry = playlist_[index];
    std::string didl = mappings::didl_for_playable(entry.url, entry.metadata);
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    transport("SetAVTransportURI", {{"CurrentURI", entry.url}, {"CurrentURIMetaData", didl}}, {},
              [weak, done = std::move(done)](const ActionReply& r) mutable {
                  auto self = weak.lock();
                  if (!r.ok()) return done(*r.error);
                  if (!self) return done(gone_error());
                  self->play(std::move(done));
              });
}

void UpnpRenderer::play(Done done) {
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    transport("Play", {{"Speed", "1"}}, {}, [weak, done = std::move(done)](const ActionReply& r) mutable {
        auto self = weak.lock();
        if (r.fault != 701 || !self) return answer(std::move(done))(r);
        // Rygel refuses Play while it is already playing (a new URI set while
        // playing plays at once): that is what was asked.
        self->transport("GetTransportInfo", {}, {"CurrentTransportState"},
                        [done = std::move(done), refused = *r.error](const ActionReply& info) {
                            std::string state = info.get("CurrentTransportState");
                            if (info.ok() && (state == "PLAYING" || state == "TRANSITIONING"))
                                return done(Result<void>());
                            done(refused);
                        });
    });
}

void UpnpRenderer::pause(Done done) {
    transport("Pause", {}, {}, [done = std::move(done)](const ActionReply& r) {
        // Pause while stopped: 701 (the standard's "transition not available"), gmediarender 501.
        if (r.fault == 701 || r.fault == 501)
            return done(Error{"bad-request", "nothing is playing: the renderer cannot pause now"});
        if (!r.ok()) return done(*r.error);
        done(Result<void>());
    });
}

void UpnpRenderer::stop(Done done) { transport("Stop", {}, {}, answer(std::move(done))); }

void UpnpRenderer::next(Done done) { skip("Next", +1, std::move(done)); }

void UpnpRenderer::previous(Done done) { skip("Previous", -1, std::move(done)); }

void UpnpRenderer::skip(const char* action, int step, Done done) {
    // With a playlist of ours, the renderer holds one URI at a time: its own Next would be meaningless.
    if (!playlist_.empty()) {
        long target = static_cast<long>(current_) + step;
        if (target < 0 || target >= static_cast<long>(playlist_.size()))
            return answer_later(std::move(done),
                                Error{"bad-request", step > 0 ? "no next item in the playlist"
                                                              : "no previous item in the playlist"});
        return play_entry(static_cast<std::size_t>(target), std::move(done));
    }
    transport(action, {}, {}, [done = std::move(done)](const ActionReply& r) {
        // gmediarender answers 501, Rygel 711: no playlist of its own either.
        if (r.fault == 501 || r.fault == 711 || r.fault == 401)
            return done(Error{"bad-request", "the renderer has no playlist to move in"});
        if (!r.ok()) return done(*r.error);
        done(Result<void>());
    });
}

void UpnpRenderer::seek_to(double seconds, Done done) {
    if (!(seconds >= 0)) return answer_later(std::move(done), Error{"bad-request", "a position is not negative"});
    seek_absolute(seconds, std::move(done));
}

void UpnpRenderer::seek_absolute(double seconds, Done done) {
    auto target = format_upnp_time(seconds);
    if (!target) return answer_later(std::move(done), Error{"bad-request", "a position beyond any medium"});
    transport("Seek", {{"Unit", "REL_TIME"}, {"Target", *target}}, {}, answer(std::move(done)));
}

void UpnpRenderer::seek_by(double offset, Done done) {
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    transport("GetPositionInfo", {}, {"RelTime"}, [weak, offset, done = std::move(done)](const ActionReply& r) mutable {
        auto self = weak.lock();
        if (!r.ok()) return done(*r.error);
        if (!self) return done(gone_error());
        auto now = parse_upnp_time(r.get("RelTime"));
        if (!now) return done(Error{"feature-not-implemented", "the renderer does not say where it is"});
        double target = *now + offset;
        self->seek_absolute(target < 0 ? 0 : target, std::move(done));
    });
}

std::optional<xml::Element> UpnpRenderer::item_for(const std::string& uri) const {
    for (const auto& e : playlist_)
        if (e.url == uri) return e.metadata;
    return std::nullopt;
}

}  // namespace xpmn::upnp
