// `xpmn control` / `xpmn status` without the network: the request an action
// makes (wire profile §7.1, §7.2) and how a status reads on a terminal.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::tools {

// The IQ type and payload of `xpmn control` ACTION [ARG]: play, pause, stop,
// next, previous, seek [+|-]SECONDS (a sign: relative), volume 0-100,
// mute on|off. bad-request with a usage text otherwise.
struct PlayerRequest {
    std::string type;  // "set"
    xml::Element payload;
};
Result<PlayerRequest> control_request(const std::vector<std::string>& words);

// One line for a <status/> (and the <control/> variables when known):
// "playing  Title — Artist  1:23 / 4:56  vol 60". `position` overrides the
// status's own (the live line extrapolates it).
std::string status_line(const xml::Element& status, const xml::Element* controls, std::optional<double> position = {});
// The live line: the same with a position bar `width` cells wide.
std::string live_line(const xml::Element& status, const xml::Element* controls, std::optional<double> position,
                      std::size_t width);
// "Title — Artist" of an <item xmlns='urn:xmpp:media:metadata:0'/> (its URI when untitled).
std::string item_title(const xml::Element& item);

}  // namespace xpmn::tools
