#include "bridge/profiles/player_xml.hpp"

#include <cmath>
#include <cstdio>

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

std::string_view state_name(PlayState state) {
    switch (state) {
        case PlayState::Playing: return "playing";
        case PlayState::Paused: return "paused";
        case PlayState::Stopped: break;
    }
    return "stopped";
}

std::string seconds_text(double seconds) {
    if (!std::isfinite(seconds)) seconds = 0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", seconds);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s == "-0" ? "0" : s;
}

xml::Element status_element(const PlayerStatus& status, std::optional<double> position) {
    xml::Element e("status", ns::media_player);
    e.set_attr("state", state_name(status.state));
    if (position) e.set_attr("position", seconds_text(*position));
    if (status.duration) e.set_attr("duration", seconds_text(*status.duration));
    e.set_attr("seekable", status.seekable ? "true" : "false");
    if (status.item) e.add_child(*status.item);
    return e;
}

xml::Element controls_element(const PlayerControls& controls) {
    xml::Element e("control", ns::media_control);
    if (controls.volume) {
        auto& v = e.add("variable", ns::media_control);
        v.set_attr("name", "volume");
        v.set_attr("min", "0");
        v.set_attr("max", "100");
        v.add_text(std::to_string(*controls.volume));
    }
    if (controls.mute) e.add("variable", ns::media_control).set_attr("name", "mute").add_text(*controls.mute ? "true" : "false");
    return e;
}

xml::Element event_message(const std::string& to, std::string_view node, std::string_view item_id,
                           xml::Element payload) {
    xml::Element msg("message", ns::client);
    msg.set_attr("to", to);
    auto& items = msg.add("event", ns::pubsub_event).add("items");
    items.set_attr("node", node);
    items.add("item").set_attr("id", item_id).add_child(std::move(payload));
    return msg;
}

}  // namespace xpmn::profiles
