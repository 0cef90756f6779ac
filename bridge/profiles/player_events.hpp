// Player events (wire profile §7.3): the status node and the controls node
// of one player device, as pubsub#event messages on the channel of each
// subscriber. A subscription belongs to (channel, peer, node) and ends on
// unsubscribe (automatic ones also by end_automatic), when its peer leaves the channel or when the channel closes,
// and at the first event its peer may no longer receive (a revoked grant).
//
// While anyone subscribes, the player's change listener is set
// (MediaPlayer::watch); it is cleared when the last subscription ends.
// Changes are coalesced for `coalesce` (a burst of PropertiesChanged makes
// one event) and the player is read again then, well within §7.3's 250 ms.
// While playing, the status is sent again every `period` with the position
// extrapolated from the last read and the rate (MPRIS never signals
// Position); a seek reads it again.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/player_controls.hpp"
#include "xmpp/client/peer_channel.hpp"

namespace xpmn::profiles {

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

struct PlayerEventTiming {
    std::chrono::milliseconds coalesce{100};
    std::chrono::milliseconds period{5000};
    SteadyClock now = &std::chrono::steady_clock::now;  // positions are extrapolated on it
};

// Whether a subscriber may still receive events (asked before each one); empty: always.
using StillAllowed = std::function<bool(const client::Peer&)>;

// Where a player is at `now`, from a status read at `read_at`.
std::optional<double> position_at(const PlayerStatus& status, std::chrono::steady_clock::time_point read_at,
                                  std::chrono::steady_clock::time_point now);

class PlayerEvents : public std::enable_shared_from_this<PlayerEvents> {
public:
    static constexpr std::size_t kMaxSubscriptions = 1000;  // per device
    using Channel = std::shared_ptr<client::PeerChannel>;

    PlayerEvents(boost::asio::io_context& io, std::weak_ptr<MediaPlayer> player, std::shared_ptr<MuteEmulation> mute,
                 PlayerEventTiming timing = {}, StillAllowed allowed = {});
    ~PlayerEvents();

    // Subscriptions made on `channel` end with it, and with each of its peers that leaves.
    void attach(const Channel& channel);
    // `node` is one of §7.3's two. Subscribing again changes nothing; false
    // when the limit is reached. The subscriber gets the node's current item
    // at once. `automatic`: made for an owner's caps (AutoNotify), not asked
    // for; it gets the current item only when new, and an explicit
    // subscription of the same (channel, peer, node) makes it explicit.
    bool subscribe(const Channel& channel, const client::Peer& peer, const std::string& node, bool automatic = false);
    bool unsubscribe(const Channel& channel, const client::Peer& peer, const std::string& node);
    // Ends `peer`'s automatic subscriptions (on every channel) to the nodes
    // not in `keep`; its explicit ones stay.
    void end_automatic(const Jid& peer, const std::vector<std::string>& keep = {});
    // What the player's listener reports.
    void changed(const PlayerChange& change);
    std::size_t size() const { return subs_.size(); }
    bool watching() const { return watching_; }

private:
    struct Sub {
        std::weak_ptr<client::PeerChannel> channel;
        client::Peer peer;
        std::string node;
        bool automatic = false;
    };
    void drop(const std::weak_ptr<client::PeerChannel>& channel, const std::optional<Jid>& peer);
    void update_watch();
    void flush();
    // Reads the player and sends the node's item to `only` (one subscriber) or to all of the node.
    void read_status(std::optional<Sub> only);
    void read_controls(std::optional<Sub> only);
    void send(const std::string& node, const xml::Element& payload, const std::optional<Sub>& only);
    xml::Element status_now() const;
    void arm_period();
    bool has_node(const std::string& node) const;

    boost::asio::io_context& io_;
    std::weak_ptr<MediaPlayer> player_;
    std::shared_ptr<MuteEmulation> mute_;
    PlayerEventTiming timing_;
    StillAllowed allowed_;
    std::vector<Sub> subs_;
    bool watching_ = false;
    bool dirty_status_ = false, dirty_controls_ = false;
    boost::asio::steady_timer flush_timer_, period_timer_;
    bool flush_armed_ = false;
    // The last status read and when (for extrapolation); reads answer out of order, the newest wins.
    std::optional<PlayerStatus> status_;
    std::chrono::steady_clock::time_point read_at_{};
    std::uint64_t status_reads_ = 0, status_read_kept_ = 0;
};

}  // namespace xpmn::profiles
