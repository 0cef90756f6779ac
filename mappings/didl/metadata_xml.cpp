#include "mappings/didl/metadata_xml.hpp"

#include <charconv>
#include <cmath>

namespace xpmn::mappings {
namespace {

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

std::string encode(std::string_view s, std::string_view keep) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (unreserved(c) || keep.find(static_cast<char>(c)) != std::string_view::npos) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

void add_if(xml::Element& e, const char* name, std::string_view value) {
    if (!value.empty()) e.add_text_child(name, value);
}

}  // namespace

std::string percent_encode(std::string_view s) { return encode(s, {}); }

std::string transfer_uri(std::string_view device_full_jid, std::string_view uid) {
    return "xmpp:" + encode(device_full_jid, "@/") + "?transfer;uid=" + percent_encode(uid);
}

std::string format_seconds(double seconds) {
    if (!std::isfinite(seconds)) return {};
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed);
    if (ec != std::errc()) return {};
    return std::string(buf, end);
}

xml::Element to_metadata(const MediaObject& o, TransferTable& transfers, std::string_view jid, bool include_ids) {
    xml::Element e(o.is_container ? "container" : "item", kMetadataNs);
    if (include_ids) {
        e.set_attr("id", o.id);
        if (!o.parent_id.empty()) e.set_attr("parent", o.parent_id);
    }
    // Without an id there is no stable uid, so nothing can be offered for transfer.
    auto cover = [&] {
        if (!o.album_art_url.empty() && !o.id.empty())
            e.add_text_child("cover-album", transfer_uri(jid, transfers.add_cover(o.id, o.album_art_url)));
    };

    if (o.is_container) {
        if (o.child_count) e.set_attr("child-count", std::to_string(*o.child_count));
        add_if(e, "title", o.title);
        cover();
        return e;
    }

    add_if(e, "class", o.cls.empty() ? "other" : o.cls);
    add_if(e, "title", o.title);
    add_if(e, "artist", o.artist);
    add_if(e, "album", o.album);
    add_if(e, "genre", o.genre);
    if (o.track_number) e.add_text_child("track-number", std::to_string(*o.track_number));
    add_if(e, "release-date", o.release_date);
    add_if(e, "date", o.date);
    if (o.creator != o.artist) add_if(e, "creator", o.creator);
    add_if(e, "description", o.description);
    if (o.duration_s && *o.duration_s >= 0) add_if(e, "duration", format_seconds(*o.duration_s));
    if (o.size) e.add_text_child("size", std::to_string(*o.size));
    add_if(e, "mime-type", o.mime_type);
    add_if(e, "resolution", o.resolution);
    if (o.bitrate_bps) e.add_text_child("bitrate", std::to_string(*o.bitrate_bps));
    cover();
    if (!o.res_url.empty() && !o.id.empty())
        e.add_text_child("uri", transfer_uri(jid, transfers.add_media(o.id, o.res_url)));
    return e;
}

}  // namespace xpmn::mappings
