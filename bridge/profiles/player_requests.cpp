#include "bridge/profiles/player_requests.hpp"

#include <charconv>
#include <cmath>
#include <set>

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

namespace {

Error bad_request(std::string text) { return {"bad-request", std::move(text)}; }

std::optional<double> parse_seconds(std::string_view text) {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

Result<PlayerCommand> parse_open(const xml::Element& open) {
    PlayerCommand c;
    c.kind = PlayerCommand::Kind::Open;
    for (const auto* e : open.elements()) {
        if (e->name() != "uri" || e->ns() != ns::media_player)
            return bad_request("<open/> holds only <uri/> elements");
        if (c.uris.size() == kMaxPlaylist) return bad_request("at most 100 URIs in one open");
        std::string uri = e->text();
        if (uri.empty() || uri.size() > kMaxUriLength) return bad_request("a <uri/> must have 1 to 4096 bytes");
        c.uris.push_back(std::move(uri));
    }
    if (c.uris.empty()) return bad_request("<open/> needs at least one <uri/>");
    return c;
}

// Beyond any medium (31 years); larger values would overflow a device's time format.
constexpr double kMaxSeekSeconds = 1e9;

Result<PlayerCommand> parse_seek(const xml::Element& seek) {
    PlayerCommand c;
    c.kind = PlayerCommand::Kind::Seek;
    auto position = seek.attr("position");
    auto offset = seek.attr("offset");
    if (position.has_value() == offset.has_value())
        return bad_request("<seek/> needs either position (absolute seconds) or offset (relative seconds)");
    if (position) {
        c.position = parse_seconds(*position);
        if (!c.position || *c.position < 0 || *c.position > kMaxSeekSeconds)
            return bad_request("seek position must be a number of seconds from 0 to 1e9");
    } else {
        c.offset = parse_seconds(*offset);
        if (!c.offset || std::abs(*c.offset) > kMaxSeekSeconds)
            return bad_request("seek offset must be a number of seconds from -1e9 to 1e9");
    }
    return c;
}

}  // namespace

Result<PlayerCommand> parse_player_command(const xml::Element& player) {
    auto children = player.elements();
    if (children.size() != 1) return bad_request("<player/> holds exactly one command");
    const xml::Element& e = *children.front();
    using Kind = PlayerCommand::Kind;
    static const std::pair<const char*, Kind> simple[] = {{"play", Kind::Play}, {"pause", Kind::Pause},
                                                          {"stop", Kind::Stop}, {"next", Kind::Next},
                                                          {"previous", Kind::Previous}};
    if (e.ns() == ns::media_player) {
        if (e.name() == "open") return parse_open(e);
        if (e.name() == "seek") return parse_seek(e);
        for (auto [name, kind] : simple)
            if (e.name() == name) return PlayerCommand{kind, {}, {}, {}};
    }
    return Error{"service-unavailable", "unknown player command <" + e.name() +
                                            "/> (open, play, pause, stop, seek, next, previous)"};
}

Result<std::vector<ControlChange>> parse_control_set(const xml::Element& control) {
    std::vector<ControlChange> out;
    std::set<std::string> seen;
    for (const auto* v : control.elements()) {
        if (v->name() != "variable" || v->ns() != ns::media_control)
            return Error{"service-unavailable", "<control/> holds only <variable/> elements"};
        auto name = v->attr("name");
        if (!name) return bad_request("<variable/> needs a name");
        if (!seen.insert(*name).second) return bad_request("variable '" + *name + "' is given twice");
        std::string value = v->text();
        ControlChange c{*name};
        if (*name == "volume") {
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), c.volume);
            if (value.empty() || ec != std::errc() || p != value.data() + value.size())
                return bad_request("volume must be an integer from 0 to 100");
            if (c.volume < 0 || c.volume > 100) return bad_request("volume must be from 0 to 100");
        } else if (*name == "mute") {
            if (value != "true" && value != "false" && value != "1" && value != "0")
                return bad_request("mute must be true or false");
            c.mute = value == "true" || value == "1";
        } else {
            return Error{"item-not-found", "no variable '" + *name + "' (volume, mute)"};
        }
        out.push_back(std::move(c));
    }
    if (out.empty()) return bad_request("<control/> needs at least one <variable/>");
    return out;
}

}  // namespace xpmn::profiles
