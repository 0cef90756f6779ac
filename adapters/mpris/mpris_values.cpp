#include "adapters/mpris/mpris_values.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>

#include "mappings/didl/didl_values.hpp"

namespace xpmn::mpris {
namespace {

Error type_error(const std::string& name, const std::string& got, const char* want) {
    return Error{"internal-server-error",
                 "the player sent " + name + " as D-Bus type '" + got + "', expected " + want};
}

// Variant::get<T>() for the type the variant says it holds; nullopt for another type.
std::optional<double> as_number(const sdbus::Variant& v) {
    try {
        const std::string t = v.peekValueType();
        if (t == "d") return v.get<double>();
        if (t == "x") return static_cast<double>(v.get<std::int64_t>());
        if (t == "t") return static_cast<double>(v.get<std::uint64_t>());
        if (t == "i") return v.get<std::int32_t>();
        if (t == "u") return v.get<std::uint32_t>();
        if (t == "n") return v.get<std::int16_t>();
        if (t == "q") return v.get<std::uint16_t>();
        if (t == "y") return v.get<std::uint8_t>();
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::optional<std::string> as_string(const sdbus::Variant& v) {
    try {
        const std::string t = v.peekValueType();
        if (t == "s") return v.get<std::string>();
        if (t == "o") return std::string(v.get<sdbus::ObjectPath>());
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::optional<std::vector<std::string>> as_strings(const sdbus::Variant& v) {
    try {
        if (v.peekValueType() == "as") return v.get<std::vector<std::string>>();
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (auto s = as_string(v)) return std::vector<std::string>{*s};
    return std::nullopt;
}

const sdbus::Variant* find(const PropertyMap& m, const std::string& name) {
    auto it = m.find(name);
    return it == m.end() || it->second.isEmpty() ? nullptr : &it->second;
}

}  // namespace

Result<std::optional<double>> number_property(const PropertyMap& props, const std::string& name) {
    const sdbus::Variant* v = find(props, name);
    if (!v) return std::optional<double>();
    auto n = as_number(*v);
    if (!n || !std::isfinite(*n)) return type_error(name, v->peekValueType(), "a number");
    return n;
}

std::string player_identity(std::string_view identity) {
    return mappings::truncate_utf8(identity, kMaxIdentityBytes);
}

mappings::MprisMetadata read_metadata(const PropertyMap& md) {
    mappings::MprisMetadata m;
    auto text = [&](const char* key, std::string& out) {
        if (const auto* v = find(md, key))
            if (auto s = as_string(*v)) out = mappings::truncate_utf8(*s, kMaxMetadataTextBytes);
    };
    auto url = [&](const char* key, std::string& out) {
        if (const auto* v = find(md, key))
            if (auto s = as_string(*v); s && s->size() <= kMaxMetadataUrlBytes) out = *s;
    };
    auto list = [&](const char* key, std::vector<std::string>& out) {
        const auto* v = find(md, key);
        auto s = v ? as_strings(*v) : std::nullopt;
        if (!s) return;
        if (s->size() > kMaxMetadataListEntries) s->resize(kMaxMetadataListEntries);
        for (auto& entry : *s) out.push_back(mappings::truncate_utf8(entry, kMaxMetadataTextBytes));
    };
    url("mpris:trackid", m.track_id);
    text("xesam:title", m.title);
    list("xesam:artist", m.artists);
    text("xesam:album", m.album);
    list("xesam:genre", m.genres);
    url("mpris:artUrl", m.art_url);
    url("xesam:url", m.url);
    if (const auto* v = find(md, "mpris:length"))
        if (auto n = as_number(*v); n && std::isfinite(*n) && *n >= 0) m.length_s = *n / 1e6;
    return m;
}

Result<mappings::MprisMetadata> metadata_property(const PropertyMap& props) {
    const sdbus::Variant* v = find(props, "Metadata");
    if (!v) return mappings::MprisMetadata{};
    if (v->peekValueType() != "a{sv}") return type_error("Metadata", v->peekValueType(), "a{sv}");
    try {
        return read_metadata(v->get<PropertyMap>());
    } catch (const std::exception& e) {
        return Error{"internal-server-error", std::string("the player's Metadata is unreadable: ") + e.what()};
    }
}

Result<profiles::PlayerStatus> read_status(const PropertyMap& props, const CoverUri& cover) {
    profiles::PlayerStatus s;
    if (const auto* v = find(props, "PlaybackStatus")) {
        auto text = as_string(*v);
        if (!text) return type_error("PlaybackStatus", v->peekValueType(), "a string");
        if (*text == "Playing") s.state = profiles::PlayState::Playing;
        else if (*text == "Paused") s.state = profiles::PlayState::Paused;
        else if (*text == "Stopped") s.state = profiles::PlayState::Stopped;
        else return Error{"internal-server-error", "the player's PlaybackStatus is '" + *text + "'"};
    }
    auto position = number_property(props, "Position");
    if (!position) return position.error();
    if (*position && **position >= 0) s.position = **position / 1e6;
    auto rate = number_property(props, "Rate");
    if (!rate) return rate.error();
    if (*rate && **rate > 0 && s.state == profiles::PlayState::Playing) s.rate = **rate;
    if (const auto* v = find(props, "CanSeek")) {
        if (v->peekValueType() != "b") return type_error("CanSeek", v->peekValueType(), "a boolean");
        s.seekable = v->get<bool>();
    }
    auto md = metadata_property(props);
    if (!md) return md.error();
    s.duration = md->length_s;
    // An idle player (mpv with nothing loaded) has no title, url nor track id.
    if (!md->title.empty() || !md->url.empty() || !md->track_id.empty() || md->length_s) {
        std::string cover_uri;
        if (cover && !md->art_url.empty() && !mappings::is_http_url(md->art_url))
            cover_uri = cover(md->art_url).value_or("");
        s.item = mappings::to_metadata_item(*md, cover_uri);
    }
    return s;
}

Result<profiles::PlayerControls> read_controls(const PropertyMap& props) {
    profiles::PlayerControls c;  // mute stays nullopt: MPRIS has none
    auto volume = number_property(props, "Volume");
    if (!volume) return volume.error();
    if (*volume) c.volume = static_cast<int>(std::lround(std::clamp(**volume, 0.0, 1.0) * 100.0));
    return c;
}

}  // namespace xpmn::mpris
