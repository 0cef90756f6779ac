// UpnpRenderer: status, volume and mute.
#include <array>
#include <charconv>
#include <cstdlib>

#include "adapters/upnp/upnp_renderer.hpp"
#include "adapters/upnp/upnp_time.hpp"

namespace xpmn::upnp {

namespace {

profiles::PlayState play_state(const std::string& s) {
    // TRANSITIONING: between SetAVTransportURI/Play and sound; it is going to play.
    if (s == "PLAYING" || s == "TRANSITIONING") return profiles::PlayState::Playing;
    if (s == "PAUSED_PLAYBACK" || s == "PAUSED_RECORDING") return profiles::PlayState::Paused;
    return profiles::PlayState::Stopped;  // STOPPED, NO_MEDIA_PRESENT, anything else
}

std::optional<int> integer(const std::string& s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<bool> boolean(const std::string& s) {
    if (s == "1" || s == "true" || s == "True" || s == "yes") return true;
    if (s == "0" || s == "false" || s == "False" || s == "no") return false;
    return std::nullopt;
}

// Replies of several actions asked at once, answered when the last one is in.
template <std::size_t N>
struct Gather {
    std::array<ActionReply, N> replies;
    std::size_t pending = N;
    std::function<void(std::array<ActionReply, N>&)> done;

    ServiceAction::Done slot(std::shared_ptr<Gather> self, std::size_t i) {
        return [self, i](const ActionReply& r) {
            self->replies[i] = r;
            if (--self->pending == 0) self->done(self->replies);
        };
    }
};

}  // namespace

void UpnpRenderer::status(StatusDone done) {
    auto g = std::make_shared<Gather<3>>();
    std::weak_ptr<UpnpRenderer> weak = weak_from_this();
    g->done = [weak, done = std::move(done)](std::array<ActionReply, 3>& r) {
        for (const auto& reply : r)
            if (!reply.ok()) return done(*reply.error);
        const ActionReply &transport = r[0], &position = r[1], &media = r[2];
        profiles::PlayerStatus s;
        s.state = play_state(transport.get("CurrentTransportState"));
        s.position = parse_upnp_time(position.get("RelTime"));
        s.duration = parse_upnp_time(position.get("TrackDuration"));
        if (!s.duration || *s.duration <= 0) s.duration = parse_upnp_time(media.get("MediaDuration"));
        if (s.duration && *s.duration <= 0) s.duration.reset();
        std::string uri = position.get("TrackURI");
        if (uri.empty()) uri = media.get("CurrentURI");
        if (auto self = weak.lock(); self && !uri.empty()) s.item = self->item_for(uri);
        // Right after Play a renderer may not know the duration yet; the item's metadata may.
        if (!s.duration && s.item)
            if (double d = std::strtod(s.item->child_text("duration").c_str(), nullptr); d > 0) s.duration = d;
        s.seekable = s.duration.has_value() && s.state != profiles::PlayState::Stopped;
        done(std::move(s));
    };
    transport("GetTransportInfo", {}, {"CurrentTransportState"}, g->slot(g, 0));
    transport("GetPositionInfo", {}, {"TrackDuration", "TrackURI", "RelTime"}, g->slot(g, 1));
    transport("GetMediaInfo", {}, {"MediaDuration", "CurrentURI"}, g->slot(g, 2));
}

void UpnpRenderer::controls(ControlsDone done) {
    auto g = std::make_shared<Gather<2>>();
    g->done = [done = std::move(done)](std::array<ActionReply, 2>& r) {
        profiles::PlayerControls c;
        // A renderer without one of them still has the other.
        if (r[0].ok()) c.volume = integer(r[0].get("CurrentVolume"));
        if (r[1].ok()) c.mute = boolean(r[1].get("CurrentMute"));
        if (!r[0].ok() && !r[1].ok()) return done(*r[0].error);
        done(c);
    };
    rendering("GetVolume", {}, {"CurrentVolume"}, g->slot(g, 0));
    rendering("GetMute", {}, {"CurrentMute"}, g->slot(g, 1));
}

profiles::MediaPlayer::Done UpnpRenderer::reporting_controls(Done done) {
    return [weak = weak_from_this(), done = std::move(done)](Result<void> r) {
        const bool ok = static_cast<bool>(r);
        done(std::move(r));
        auto self = weak.lock();
        if (!ok || !self || !self->listener_) return;
        profiles::PlayerChange change;
        change.controls = true;
        self->listener_(change);
    };
}

void UpnpRenderer::set_volume(int volume, Done done) {
    rendering("SetVolume", {{"DesiredVolume", std::to_string(volume)}}, {},
              answer(reporting_controls(std::move(done))));
}

void UpnpRenderer::set_mute(bool on, Done done) {
    rendering("SetMute", {{"DesiredMute", on ? "1" : "0"}}, {}, answer(reporting_controls(std::move(done))));
}

}  // namespace xpmn::upnp
