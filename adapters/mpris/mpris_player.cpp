#include "adapters/mpris/mpris_player.hpp"

#include "adapters/mpris/cover_art.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <algorithm>
#include <cmath>
#include <sdbus-c++/sdbus-c++.h>

namespace xpmn::mpris {

namespace {

constexpr const char* kPlayerIface = "org.mpris.MediaPlayer2.Player";
constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";
constexpr const char* kPath = "/org/mpris/MediaPlayer2";

Error gone_error() { return Error{"service-unavailable", "the player has left the bus"}; }

bool one_of(const std::string& name, std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (name == n) return true;
    return false;
}

std::int64_t to_us(double seconds) { return static_cast<std::int64_t>(std::llround(seconds * 1e6)); }

}  // namespace

Error dbus_error(const sdbus::Error& e) {
    const std::string& name = e.getName();
    const std::string text = name + ": " + e.getMessage();
    if (one_of(name, {"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout",
                      "org.freedesktop.DBus.Error.TimedOut"}))
        return Error{"remote-server-timeout", "the player did not answer in time (" + text + ")"};
    if (one_of(name, {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
                      "org.freedesktop.DBus.Error.Disconnected"}))
        return Error{"service-unavailable", "the player is not on the bus (" + text + ")"};
    if (one_of(name, {"org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.UnknownInterface",
                      "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownProperty",
                      "org.freedesktop.DBus.Error.NotSupported", "org.freedesktop.DBus.Error.PropertyReadOnly"}))
        return Error{"feature-not-implemented", "the player cannot do that (" + text + ")"};
    if (name == "org.freedesktop.DBus.Error.InvalidArgs")
        return Error{"bad-request", "the player refused the value (" + text + ")"};
    return Error{"internal-server-error", "the player failed (" + text + ")"};
}

MprisPlayer::MprisPlayer(loop::SdbusIntegration& bus, std::string destination, std::chrono::milliseconds timeout)
    : bus_(bus),
      io_(bus.io()),
      destination_(std::move(destination)),
      timeout_(timeout),
      // On the integration's connection: sdbus-c++ starts no thread for it.
      proxy_(sdbus::createProxy(bus.connection(), destination_, kPath)) {}

MprisPlayer::~MprisPlayer() = default;  // the proxy cancels its pending calls; their answers are dropped

void MprisPlayer::gone() {
    if (gone_) return;
    gone_ = true;
    proxy_.reset();  // no reply handler runs after this
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, fail] : pending)
        boost::asio::post(io_, [fail = std::move(fail)] {
            const Error e = gone_error();
            fail(&e);
        });
}

std::uint64_t MprisPlayer::track(std::function<void(const Error*)> fail) {
    const std::uint64_t id = ++next_id_;
    pending_.emplace(id, std::move(fail));
    return id;
}

void MprisPlayer::untrack(std::uint64_t id) { pending_.erase(id); }

void MprisPlayer::post(Done done, Result<void> result) {
    boost::asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
    });
}

template <class T, class F>
void MprisPlayer::post_result(F done, Result<T> result) {
    boost::asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
    });
}

// Every call: tracked until answered (exactly once: by the reply, by sd-bus's
// timeout, or by gone()), its reply handler never throws into sd-bus.
template <class... Args>
void MprisPlayer::call(const char* iface, const std::string& method, Done done, const Args&... args) {
    if (gone_) return post(std::move(done), gone_error());
    auto shared = std::make_shared<Done>(std::move(done));
    const std::uint64_t id = track([shared](const Error* e) { (*shared)(*e); });
    try {
        auto invoker = proxy_->callMethodAsync(method);
        invoker.onInterface(iface).withTimeout(timeout_);
        if constexpr (sizeof...(Args) > 0) invoker.withArguments(args...);
        invoker.uponReplyInvoke([weak = weak_from_this(), id, shared](const sdbus::Error* err) {
            auto self = weak.lock();
            if (!self || !self->pending_.erase(id)) return;
            try {
                if (err) (*shared)(dbus_error(*err));
                else (*shared)(Result<void>{});
            } catch (const std::exception& e) {
                spdlog::error("mpris: a reply handler threw: {}", e.what());
            }
        });
        bus_.issued();
    } catch (const std::exception& e) {
        untrack(id);
        post(std::move(*shared), Error{"internal-server-error", std::string("cannot call the player: ") + e.what()});
    }
}

void MprisPlayer::get_all(const char* iface, PropsDone done) {
    if (gone_) return post_result<PropertyMap>(std::move(done), gone_error());
    auto shared = std::make_shared<PropsDone>(std::move(done));
    const std::uint64_t id = track([shared](const Error* e) { (*shared)(*e); });
    try {
        proxy_->callMethodAsync("GetAll")
            .onInterface(kPropertiesIface)
            .withTimeout(timeout_)
            .withArguments(std::string(iface))
            .uponReplyInvoke([weak = weak_from_this(), id, shared](const sdbus::Error* err, PropertyMap props) {
                auto self = weak.lock();
                if (!self || !self->pending_.erase(id)) return;
                try {
                    if (!err) return (*shared)(std::move(props));
                    Error e = dbus_error(*err);
                    // Not an error reply of the player: its answer did not unpack as a{sv}.
                    if (e.condition == "bad-request" || e.condition == "internal-server-error")
                        e = Error{"internal-server-error",
                                  "the player's properties are unreadable: " + err->getMessage()};
                    (*shared)(std::move(e));
                } catch (const std::exception& e) {
                    spdlog::error("mpris: a reply handler threw: {}", e.what());
                }
            });
        bus_.issued();
    } catch (const std::exception& e) {
        untrack(id);
        post_result<PropertyMap>(std::move(*shared),
                                 Error{"internal-server-error", std::string("cannot call the player: ") + e.what()});
    }
}

void MprisPlayer::open(std::vector<profiles::PlayableItem> playlist, Done done) {
    if (playlist.empty()) return post(std::move(done), Error{"bad-request", "nothing to open"});
    playlist_ = std::move(playlist);
    open_index(0, std::move(done));
}

void MprisPlayer::open_index(std::size_t index, Done done) {
    // A paused player is resumed before OpenUri: mpv keeps its pause flag
    // across a new file (it would not start the item), and a Play sent after
    // OpenUri races VLC's switch to the new item (it may resume the old one).
    get_all(kPlayerIface, [weak = weak_from_this(), index, done = std::move(done)](Result<PropertyMap> props) mutable {
        auto self = weak.lock();
        if (!self) return;
        if (!props) return done(props.error());
        auto status = read_status(*props);
        const bool from_stop = status && status->state == profiles::PlayState::Stopped;
        auto open = [weak, index, from_stop](Done done) mutable {
            auto self = weak.lock();
            if (!self) return;
            // An open() meanwhile may have replaced the playlist with a shorter one.
            if (index >= self->playlist_.size())
                return done(Error{"item-not-found", "the playlist changed while moving in it"});
            self->call(kPlayerIface, "OpenUri", [weak, index, from_stop, done = std::move(done)](Result<void> r) mutable {
                if (auto self = weak.lock(); self && r) {
                    self->index_ = index;
                    self->started_from_stop_ = from_stop;
                }
                done(std::move(r));
            }, self->playlist_[index].url);
        };
        if (!status || status->state != profiles::PlayState::Paused) return open(std::move(done));
        self->call(kPlayerIface, "Play", [open, done = std::move(done)](Result<void> r) mutable {
            if (!r) return done(std::move(r));
            open(std::move(done));
        });
    });
}

void MprisPlayer::play(Done done) { call(kPlayerIface, "Play", std::move(done)); }
void MprisPlayer::pause(Done done) { call(kPlayerIface, "Pause", std::move(done)); }
void MprisPlayer::stop(Done done) { call(kPlayerIface, "Stop", std::move(done)); }

void MprisPlayer::next(Done done) {
    if (playlist_.size() <= 1) return call(kPlayerIface, "Next", std::move(done));
    if (index_ + 1 >= playlist_.size())
        return post(std::move(done), Error{"item-not-found", "the playlist has no next item"});
    open_index(index_ + 1, std::move(done));
}

void MprisPlayer::previous(Done done) {
    if (playlist_.size() <= 1) return call(kPlayerIface, "Previous", std::move(done));
    if (index_ == 0) return post(std::move(done), Error{"item-not-found", "the playlist has no previous item"});
    open_index(index_ - 1, std::move(done));
}

void MprisPlayer::when_seekable(Done done, SeekStep then) {
    get_all(kPlayerIface, [weak = weak_from_this(), then = std::move(then), done = std::move(done)](
                              Result<PropertyMap> props) mutable {
        auto self = weak.lock();
        if (!self) return;
        if (!props) return done(props.error());
        auto status = read_status(*props);
        if (!status) return done(status.error());
        if (!status->seekable) return done(Error{"feature-not-implemented", "the player cannot seek this item"});
        auto md = metadata_property(*props);
        if (!md) return done(md.error());
        then(*self, *md, std::move(done));
    });
}

namespace {
// Seconds that fit D-Bus's int64 microseconds with room to spare (~31 years).
bool plausible_seconds(double s) { return std::isfinite(s) && std::fabs(s) < 1e9; }
}  // namespace

void MprisPlayer::seek_to(double seconds, Done done) {
    if (!plausible_seconds(seconds)) return post(std::move(done), Error{"bad-request", "no such position"});
    // SetPosition needs the current track id.
    when_seekable(std::move(done), [seconds](MprisPlayer& self, const mappings::MprisMetadata& md, Done done) {
        if (md.track_id.empty()) return done(Error{"feature-not-implemented", "the player gives no track id"});
        self.call(kPlayerIface, "SetPosition", std::move(done), sdbus::ObjectPath(md.track_id),
                  to_us(std::max(0.0, seconds)));
    });
}

void MprisPlayer::seek_by(double offset, Done done) {
    if (!plausible_seconds(offset)) return post(std::move(done), Error{"bad-request", "no such offset"});
    when_seekable(std::move(done), [offset](MprisPlayer& self, const mappings::MprisMetadata&, Done done) {
        self.call(kPlayerIface, "Seek", std::move(done), to_us(offset));
    });
}

void MprisPlayer::status(StatusDone done) {
    get_all(kPlayerIface, [weak = weak_from_this(), art = art_, done = std::move(done)](Result<PropertyMap> props) {
        if (!props) return done(props.error());
        CoverUri cover;
        if (art) cover = [&art](const std::string& url) { return art->announce(url); };
        auto status = read_status(*props, cover);
        auto self = weak.lock();
        if (status && self && self->started_from_stop_ && status->state == profiles::PlayState::Stopped) {
            (*props)["PlaybackStatus"] = sdbus::Variant(std::string("Playing"));  // see started_from_stop_
            status = read_status(*props, cover);
        }
        done(std::move(status));
    });
}

void MprisPlayer::controls(ControlsDone done) {
    get_all(kPlayerIface, [done = std::move(done)](Result<PropertyMap> props) {
        if (!props) return done(props.error());
        done(read_controls(*props));
    });
}

void MprisPlayer::identity(std::function<void(Result<std::string>)> done) {
    get_all("org.mpris.MediaPlayer2", [done = std::move(done)](Result<PropertyMap> props) {
        if (!props) return done(props.error());
        auto it = props->find("Identity");
        if (it == props->end() || it->second.isEmpty() || it->second.peekValueType() != "s")
            return done(Error{"internal-server-error", "the player has no Identity string"});
        done(player_identity(it->second.get<std::string>()));
    });
}

void MprisPlayer::set_volume(int volume, Done done) {
    call(kPropertiesIface, "Set", std::move(done), std::string(kPlayerIface), std::string("Volume"),
         sdbus::Variant(static_cast<double>(volume) / 100.0));
}

void MprisPlayer::set_mute(bool, Done done) {
    post(std::move(done), Error{"feature-not-implemented", "MPRIS players have no mute"});
}

void MprisPlayer::watch(ChangeListener listener) { listener_ = std::move(listener); }

void MprisPlayer::on_properties_changed(const std::string& interface, const PropertyMap& changed,
                                        const std::vector<std::string>& invalidated) {
    if (interface != kPlayerIface) return;
    if (changed.count("PlaybackStatus") || std::count(invalidated.begin(), invalidated.end(), "PlaybackStatus"))
        started_from_stop_ = false;  // the player speaks for itself again
    if (!listener_) return;
    profiles::PlayerChange change;
    auto note = [&](const std::string& name) {
        if (one_of(name, {"PlaybackStatus", "Metadata", "Rate", "CanSeek"})) change.status = true;
        else if (name == "Volume") change.controls = true;
        else if (name == "Position") change.seeked = true;  // players that do signal it jumped
    };
    for (const auto& [name, value] : changed) note(name);
    for (const auto& name : invalidated) note(name);
    if (change.status || change.controls || change.seeked) listener_(change);
}

void MprisPlayer::on_seeked() {
    if (!listener_) return;
    profiles::PlayerChange change;
    change.seeked = true;
    listener_(change);
}

}  // namespace xpmn::mpris
