// A UPnP MediaRenderer as a profiles::MediaPlayer (wire profile §7): the
// player profile speaks XMPP, this speaks AVTransport and RenderingControl
// (instance 0, channel Master) through the bridge's own gupnp control point.
//
// - open: SetAVTransportURI (DIDL-Lite metadata from the item) then Play;
//   the playlist stays here, since most renderers have none of their own:
//   next/previous try the renderer's Next/Previous and fall back to this
//   playlist when it refuses (gmediarender 501, Rygel 711).
// - seek: Seek REL_TIME to H:MM:SS; relative = GetPositionInfo's RelTime + offset.
// - status: GetTransportInfo + GetPositionInfo + GetMediaInfo (TRANSITIONING
//   counts as playing; AbsTime NOT_IMPLEMENTED is never read).
// - events: LastChange (GENA) of both services while watched, and
//   GetPositionInfo once a second then, since renderers do not event the
//   position.
// Every action is bounded by `timeout` (remote-server-timeout); after gone()
// every call answers service-unavailable.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/upnp/media_server_finder.hpp"
#include "adapters/upnp/renderer_poll.hpp"
#include "adapters/upnp/service_action.hpp"
#include "bridge/profiles/media_player.hpp"

namespace xpmn::upnp {

struct LastChange;

class UpnpRenderer : public profiles::MediaPlayer, public std::enable_shared_from_this<UpnpRenderer> {
public:
    UpnpRenderer(boost::asio::io_context& io, const RendererInfo& info,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                 std::chrono::milliseconds poll_interval = std::chrono::seconds(1));
    ~UpnpRenderer() override;

    // The renderer left: cancels what is in flight and stops watching.
    void gone();

    std::optional<profiles::LanAddresses> fetches_from() const override { return addresses_; }
    void open(std::vector<profiles::PlayableItem> playlist, Done done) override;
    void play(Done done) override;
    void pause(Done done) override;
    void stop(Done done) override;
    void next(Done done) override;
    void previous(Done done) override;
    void seek_to(double seconds, Done done) override;
    void seek_by(double offset, Done done) override;
    void status(StatusDone done) override;
    void controls(ControlsDone done) override;
    void set_volume(int volume, Done done) override;
    void set_mute(bool on, Done done) override;
    void watch(ChangeListener listener) override;

private:
    // Calls `service` unless the renderer is gone.
    void act(ServiceAction& service, const std::string& action, const ServiceAction::Args& args,
             const std::vector<std::string>& out, ServiceAction::Done done);
    // AVTransport / RenderingControl action on instance 0 (and channel Master).
    void transport(const std::string& action, ServiceAction::Args args, std::vector<std::string> out,
                   ServiceAction::Done done);
    void rendering(const std::string& action, ServiceAction::Args args, std::vector<std::string> out,
                   ServiceAction::Done done);
    // Answers `done` later, from the loop (never from inside the call).
    void answer_later(Done done, Result<void> result);
    // `done`, and on success a controls change to the watcher: the
    // renderer's LastChange says so too, unless gupnp dropped that NOTIFY
    // (an unexpected SEQ: it resubscribes), which the poll would not see.
    Done reporting_controls(Done done);
    // Plays entry `index` of the bridge's playlist: SetAVTransportURI, Play.
    void play_entry(std::size_t index, Done done);
    // Renderer's own Next/Previous, else the bridge's playlist moved by `step`.
    void skip(const char* action, int step, Done done);
    void seek_absolute(double seconds, Done done);
    // The metadata of the entry the renderer plays (matched by URI), if ours.
    std::optional<xml::Element> item_for(const std::string& uri) const;

    // Watching: LastChange subscriptions and the position poll.
    void subscribe(bool on);
    static void on_last_change(void* proxy, const char* variable, void* value, void* self);
    static void on_subscription_lost(void* proxy, void* error, void* self);
    void changed(const LastChange& change);
    void schedule_poll();
    void poll();
    void poll_position(std::string state);

    boost::asio::io_context& io_;
    std::optional<profiles::LanAddresses> addresses_;
    std::string name_;
    ServiceAction transport_;
    ServiceAction rendering_;
    bool gone_ = false;
    std::vector<profiles::PlayableItem> playlist_;
    std::size_t current_ = 0;
    ChangeListener listener_;
    bool subscribed_ = false;
    int resubscribes_ = 0;
    std::chrono::milliseconds poll_interval_;
    boost::asio::steady_timer poll_timer_;
    bool polling_ = false;
    std::optional<RendererPoll> last_poll_;  // to report jumps and lost LastChanges only
};

}  // namespace xpmn::upnp
