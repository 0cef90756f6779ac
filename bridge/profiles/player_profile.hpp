// The MediaControl profile (wire profile §7) of one player device: playback
// control (§7.1: open, play, pause, stop, seek, next, previous, status),
// rendering control (§7.2: volume, mute — emulated when the player has
// none) and events (§7.3: the status and controls nodes). The profile owns
// the protocol, the MediaPlayer (MPRIS, UPnP renderer) the device.
//
// Access (§4.2): owners may do everything; a friend needs a live `control`
// grant on the device to change anything (open, play, …, control set) and
// `events` (or `control`) to read the status or the controls and to
// subscribe to events: those only show what events show. Owners whose caps
// ask for a node's `+notify` get its events without subscribing (AutoNotify).
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "bridge/access_policy.hpp"
#include "bridge/device.hpp"
#include "bridge/profiles/media_player.hpp"
#include "bridge/profiles/playable_resolver.hpp"
#include "bridge/profiles/player_events.hpp"
#include "bridge/profiles/player_open.hpp"
#include "xmpp/client/caps_cache.hpp"

namespace xpmn::profiles {

// Adds the features and the IQ handlers to the device. `caps`: the
// bridge's shared cache of controllers' caps (automatic delivery, §7.3); a
// device-own one when null.
void install_player_profile(boost::asio::io_context& io, bridge::Device& device, std::shared_ptr<MediaPlayer> player,
                            std::shared_ptr<const bridge::AccessPolicy> access,
                            std::shared_ptr<PlayableResolver> resolver, PlayerEventTiming timing = {},
                            std::shared_ptr<client::CapsCache> caps = nullptr,
                            std::chrono::milliseconds open_deadline = kOpenDeadline);

}  // namespace xpmn::profiles
