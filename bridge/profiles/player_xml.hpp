// What the MediaControl profile puts on the wire (wire profile §7.2, §7.3):
// the <status/> of a player, the <control/> variable list and the pubsub
// event message that carries either.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bridge/profiles/media_player.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::profiles {

std::string_view state_name(PlayState state);  // "playing", "paused", "stopped"

// <status xmlns='urn:xmpp:tmp:media:player:0' state position duration seekable><item/></status>;
// `position` is where the player is now (the profile extrapolates it).
xml::Element status_element(const PlayerStatus& status, std::optional<double> position);

// <control xmlns='urn:xmpp:tmp:media:control:0'> with a <variable/> for each the player has.
xml::Element controls_element(const PlayerControls& controls);

// <message to><event xmlns='…pubsub#event'><items node><item id>payload</item></items></event></message>
xml::Element event_message(const std::string& to, std::string_view node, std::string_view item_id,
                           xml::Element payload);

// Seconds as the wire gives them: at most 3 decimals, no trailing zeros ("12.5", "830").
std::string seconds_text(double seconds);

}  // namespace xpmn::profiles
