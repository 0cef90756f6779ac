#include "mappings/mpris/mpris_metadata.hpp"

#include <algorithm>
#include <cctype>

#include "mappings/didl/metadata_xml.hpp"
#include "xmpp/core/transfer_uri.hpp"

namespace xpmn::mappings {
namespace {

std::string join(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        if (v.empty()) continue;
        if (!out.empty()) out += ", ";
        out += v;
    }
    return out;
}

bool starts_with_ci(const std::string& s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), s.begin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(b)) == a; });
}

}  // namespace

bool is_http_url(const std::string& url) { return starts_with_ci(url, "http://") || starts_with_ci(url, "https://"); }

std::optional<std::string> local_file_path(const std::string& url) {
    std::string rest;
    if (starts_with_ci(url, "file:///")) rest = url.substr(7);
    else if (starts_with_ci(url, "file://localhost/")) rest = url.substr(16);
    else return std::nullopt;
    if (rest.find_first_of("?#") != std::string::npos) return std::nullopt;
    auto path = percent_decode(rest);
    if (!path || path->empty() || path->front() != '/' || path->find('\0') != std::string::npos) return std::nullopt;
    return path;
}

xml::Element to_metadata_item(const MprisMetadata& m, const std::string& cover_uri) {
    // The Directory mapping writes the common children in the profile's
    // order; without an id it adds no transfer URIs, which come next.
    MediaObject o;
    o.title = m.title;
    o.artist = join(m.artists);
    o.album = m.album;
    o.genre = join(m.genres);
    o.duration_s = m.length_s;
    TransferTable unused;
    xml::Element item = to_metadata(o, unused, {}, false);
    if (is_http_url(m.art_url)) item.add_text_child("cover-album", m.art_url);
    else if (!cover_uri.empty()) item.add_text_child("cover-album", cover_uri);
    if (is_http_url(m.url)) item.add_text_child("uri", m.url);
    return item;
}

}  // namespace xpmn::mappings
