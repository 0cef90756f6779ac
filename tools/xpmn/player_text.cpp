#include "tools/xpmn/player_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "tools/xpmn/text_format.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::tools {

namespace {

const char* kUsage =
    "actions: play, pause, stop, next, previous, seek [+|-]SECONDS, volume 0-100, mute on|off";

Error usage(const std::string& why) { return {"bad-request", why + " (" + kUsage + ")"}; }

std::optional<double> number(std::string_view s) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

xml::Element variable(const char* name, std::string value) {
    xml::Element c("control", ns::media_control);
    c.add("variable", ns::media_control).set_attr("name", name).add_text(value);
    return c;
}

std::optional<double> attr_number(const xml::Element& e, const char* name) {
    auto v = e.attr(name);
    return v ? number(*v) : std::nullopt;
}

std::string variable_text(const xml::Element* controls, const char* name) {
    if (!controls) return {};
    for (const auto* v : controls->children("variable", ns::media_control))
        if (v->attr_or("name") == name) return v->text();
    return {};
}

std::string clock(double s) { return clock_text(static_cast<long>(std::max(0.0, s))); }

}  // namespace

Result<PlayerRequest> control_request(const std::vector<std::string>& w) {
    if (w.empty()) return usage("no action");
    const std::string& a = w[0];
    auto want_args = [&](std::size_t n) { return w.size() == n + 1; };
    xml::Element player("player", ns::media_player);
    for (const char* simple : {"play", "pause", "stop", "next", "previous"}) {
        if (a != simple) continue;
        if (!want_args(0)) return usage(a + " takes no argument");
        player.add(a, ns::media_player);
        return PlayerRequest{"set", std::move(player)};
    }
    if (a == "seek") {
        if (!want_args(1)) return usage("seek takes SECONDS, +SECONDS or -SECONDS");
        const std::string& s = w[1];
        bool relative = !s.empty() && (s[0] == '+' || s[0] == '-');
        auto v = number(relative && s[0] == '+' ? std::string_view(s).substr(1) : std::string_view(s));
        if (s.size() > 1 && (s[1] == '+' || s[1] == '-')) v.reset();
        if (!v || (!relative && *v < 0)) return usage("seek takes a number of seconds, not '" + s + "'");
        player.add("seek", ns::media_player).set_attr(relative ? "offset" : "position", relative && s[0] == '+' ? s.substr(1) : s);
        return PlayerRequest{"set", std::move(player)};
    }
    if (a == "volume") {
        if (!want_args(1)) return usage("volume takes a number from 0 to 100");
        auto v = number(w[1]);
        if (!v || *v < 0 || *v > 100 || *v != std::floor(*v)) return usage("volume is an integer from 0 to 100, not '" + w[1] + "'");
        return PlayerRequest{"set", variable("volume", std::to_string(static_cast<int>(*v)))};
    }
    if (a == "mute") {
        if (!want_args(1) || (w[1] != "on" && w[1] != "off")) return usage("mute takes on or off");
        return PlayerRequest{"set", variable("mute", w[1] == "on" ? "true" : "false")};
    }
    return usage("unknown action '" + a + "'");
}

std::string item_title(const xml::Element& item) {
    std::string title = item.child_text("title", ns::media_metadata);
    if (title.empty()) return item.child_text("uri", ns::media_metadata);
    std::string artist = item.child_text("artist", ns::media_metadata);
    return artist.empty() ? title : title + " — " + artist;
}

static std::string head(const xml::Element& status) {
    std::string out = status.attr_or("state", "?");
    if (const auto* item = status.child("item", ns::media_metadata)) out += "  " + item_title(*item);
    return out;
}

static std::string tail(const xml::Element* controls) {
    std::string out;
    if (auto v = variable_text(controls, "volume"); !v.empty()) out += "  vol " + v;
    if (variable_text(controls, "mute") == "true") out += " (muted)";
    return out;
}

std::string status_line(const xml::Element& status, const xml::Element* controls, std::optional<double> position) {
    std::string out = head(status);
    if (!position) position = attr_number(status, "position");
    auto duration = attr_number(status, "duration");
    if (position) out += "  " + clock(*position) + (duration ? " / " + clock(*duration) : "");
    return out + tail(controls);
}

std::string live_line(const xml::Element& status, const xml::Element* controls, std::optional<double> position,
                      std::size_t width) {
    std::string out = head(status);
    if (!position) position = attr_number(status, "position");
    auto duration = attr_number(status, "duration");
    if (position && duration && *duration > 0) {
        auto filled = static_cast<std::size_t>(std::clamp(*position / *duration, 0.0, 1.0) * width + 0.5);
        out += "  [" + std::string(filled, '#') + std::string(width - filled, '-') + "] ";
        out += clock(*position) + " / " + clock(*duration);
    } else if (position) {
        out += "  " + clock(*position);
    }
    return out + tail(controls);
}

}  // namespace xpmn::tools
