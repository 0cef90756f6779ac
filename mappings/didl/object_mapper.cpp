#include "mappings/didl/object_mapper.hpp"

#include <libgupnp-av/gupnp-av.h>
#include <libxml/tree.h>

#include <charconv>
#include <cstring>
#include <memory>
#include <vector>

#include "mappings/didl/didl_values.hpp"
#include "mappings/didl/glib_handles.hpp"
#include "mappings/didl/resource_choice.hpp"

namespace xpmn::mappings {
namespace {

constexpr std::size_t kQuoteBytes = 48;  // of a bad value, in a warning

std::string_view sv(const xmlChar* s) {
    return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

std::string quote(std::string_view v) {
    std::string q = truncate_utf8(v, kQuoteBytes);
    return "'" + q + (q.size() < v.size() ? "…'" : "'");
}

// Attribute value as written: gupnp-av's numeric getters turn garbage into 0
// or -1 and durations into whole seconds, so they cannot tell an invalid
// value from a real one.
std::optional<std::string> raw_attr(xmlNode* node, const char* name) {
    std::unique_ptr<xmlChar, XmlFree> v(xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name)));
    if (!v) return std::nullopt;
    return std::string(sv(v.get()));
}

// Text of an element (no DTD is allowed in, so no entity can expand here).
std::string node_text(xmlNode* node) {
    std::unique_ptr<xmlChar, XmlFree> v(xmlNodeGetContent(node));
    return std::string(sv(v.get()));
}

std::optional<std::string> property_text(GUPnPDIDLLiteObject* obj, const char* name) {
    std::unique_ptr<GList, GListFree> props(gupnp_didl_lite_object_get_properties(obj, name));
    if (!props) return std::nullopt;
    return node_text(static_cast<xmlNode*>(props->data));
}

// Parsed here rather than with gupnp_didl_lite_resource_get_protocol_info,
// which g_warning()s on every malformed value a server sends, and without a
// GUPnPProtocolInfo per <res> (a GObject each: a tenth of a large page's
// mapping time). Same reading as gupnp-av: four ':'-separated fields (the
// fourth may hold ':'), DLNA.ORG_CI=1 among the fourth's ';'-separated
// parameters marks a transcode. An unparsable protocolInfo leaves the
// candidate without protocol/MIME: it ranks last.
void protocol_info(xmlNode* res, ResourceCandidate& c) {
    auto raw = raw_attr(res, "protocolInfo");
    if (!raw) return;
    std::string_view rest(*raw);
    std::string_view fields[3];
    for (auto& f : fields) {
        auto colon = rest.find(':');
        if (colon == std::string_view::npos) return;  // fewer than four fields
        f = rest.substr(0, colon);
        rest.remove_prefix(colon + 1);
    }
    c.protocol = std::string(fields[0]);
    c.mime_type = fields[2] != "*" ? truncate_utf8(fields[2], 255) : "";
    constexpr std::string_view kConversion = "DLNA.ORG_CI=";
    while (!rest.empty()) {
        auto semi = rest.find(';');
        std::string_view param = rest.substr(0, semi);
        if (param.substr(0, kConversion.size()) == kConversion) {
            auto value = param.substr(kConversion.size());
            unsigned flags = 0;  // read as atoi() does in gupnp-av
            std::from_chars(value.data(), value.data() + value.size(), flags);
            c.converted = (flags & 1) != 0;
        }
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    }
}

}  // namespace

void ObjectMapper::on_object_available(void*, GUPnPDIDLLiteObject* object, void* self) {
    auto* m = static_cast<ObjectMapper*>(self);
    try {  // nothing may unwind through gupnp-av's C frames
        m->map(object);
    } catch (const std::exception& e) {
        m->failure_ = std::string("mapping failed: ") + e.what();
        m->stopped_ = true;
    } catch (...) {
        m->failure_ = "mapping failed";
        m->stopped_ = true;
    }
}

void ObjectMapper::warn(std::string text) {
    if (r_.warnings.size() < lim_.max_warnings)
        r_.warnings.push_back(std::move(text));
    else
        ++suppressed_;
}

void ObjectMapper::finish() {
    if (dropped_ > 0)
        warn("result truncated to " + std::to_string(lim_.max_objects) + " objects; " + std::to_string(dropped_) +
             " more left out");
    if (suppressed_ > 0) r_.warnings.push_back(std::to_string(suppressed_) + " further warnings suppressed");
}

// gupnp-av finds the root by local name only; the namespace is ours to check.
bool ObjectMapper::root_is_didl(xmlNode* node) {
    xmlNode* root = node->parent;
    return root && root->type == XML_ELEMENT_NODE && sv(root->name) == "DIDL-Lite" && root->ns &&
           sv(root->ns->href) == kDidlLiteNs;
}

void ObjectMapper::map(GUPnPDIDLLiteObject* obj) {
    if (stopped_) return;
    ++seen_;
    xmlNode* node = gupnp_didl_lite_object_get_xml_node(obj);
    if (!node) return;
    if (!root_checked_) {
        root_checked_ = true;
        if (!root_is_didl(node)) {
            wrong_root_ = stopped_ = true;
            return;
        }
    }
    if (r_.objects.size() >= lim_.max_objects) {
        ++dropped_;
        return;
    }
    const std::string what = std::string(sv(node->name)) + " #" + std::to_string(seen_);
    if (!node->ns || sv(node->ns->href) != kDidlLiteNs) {
        warn(what + " is not in the DIDL-Lite namespace: left out");
        return;
    }

    MediaObject o;
    o.is_container = GUPNP_IS_DIDL_LITE_CONTAINER(obj);
    const char* id = gupnp_didl_lite_object_get_id(obj);
    if (!id || !*id) {
        warn(what + " has no id: left out");
        return;
    }
    if (std::strlen(id) > lim_.max_id_bytes) {
        warn(what + " has an id longer than " + std::to_string(lim_.max_id_bytes) + " bytes: left out");
        return;
    }
    o.id = id;
    const std::string where = "object " + quote(o.id);

    const char* parent = gupnp_didl_lite_object_get_parent_id(obj);
    if (!parent || !*parent)
        warn(where + ": no parentID");
    else if (std::strlen(parent) > lim_.max_id_bytes)
        warn(where + ": parentID too long, left out");
    else if (std::strcmp(parent, "-1") != 0)  // UPnP's "no parent" of the root: no parent on the wire
        o.parent_id = parent;

    o.title = text(gupnp_didl_lite_object_get_title(obj), where, "dc:title");
    if (o.title.empty()) warn(where + ": no dc:title");
    o.upnp_class = text(gupnp_didl_lite_object_get_upnp_class(obj), where, "upnp:class");
    if (!o.is_container) o.cls = media_class(o.upnp_class);

    o.creator = text(gupnp_didl_lite_object_get_creator(obj), where, "dc:creator");
    o.artist = artist(obj, where);
    if (o.artist.empty()) o.artist = o.creator;  // wire profile §5: upnp:artist, else dc:creator
    o.album = text(gupnp_didl_lite_object_get_album(obj), where, "upnp:album");
    o.genre = text(gupnp_didl_lite_object_get_genre(obj), where, "upnp:genre");
    o.description = text(gupnp_didl_lite_object_get_description(obj), where, "dc:description");
    map_date(obj, o, where);
    o.album_art_url = album_art(obj, where);

    if (o.is_container) {
        if (auto cc = raw_attr(node, "childCount")) {
            o.child_count = parse_u32(*cc);
            if (!o.child_count) warn(where + ": invalid childCount " + quote(*cc));
        }
    } else {
        if (auto tn = property_text(obj, "originalTrackNumber")) {
            o.track_number = parse_track_number(*tn);
            if (!o.track_number) warn(where + ": invalid upnp:originalTrackNumber " + quote(*tn));
        }
        map_resources(obj, o, where);  // a container's <res> are playlists (Rygel), not media
    }
    r_.objects.push_back(std::move(o));
}

std::string ObjectMapper::text(const char* value, const std::string& where, const char* field) {
    if (!value) return {};
    std::string_view s(value);
    if (s.size() <= lim_.max_value_bytes) return std::string(s);
    warn(where + ": " + field + " cut to " + std::to_string(lim_.max_value_bytes) + " bytes");
    return truncate_utf8(s, lim_.max_value_bytes);
}

// upnp:artist without a role (the main artist), else the first one.
std::string ObjectMapper::artist(GUPnPDIDLLiteObject* obj, const std::string& where) {
    std::unique_ptr<GList, GListUnrefAll> artists(gupnp_didl_lite_object_get_artists(obj));
    const char* chosen = nullptr;
    for (GList* l = artists.get(); l; l = l->next) {
        auto* c = GUPNP_DIDL_LITE_CONTRIBUTOR(l->data);
        const char* name = gupnp_didl_lite_contributor_get_name(c);
        if (!name || !*name) continue;
        const char* role = gupnp_didl_lite_contributor_get_role(c);
        if (!chosen) chosen = name;
        if (!role || !*role) {
            chosen = name;
            break;
        }
    }
    return text(chosen, where, "upnp:artist");
}

void ObjectMapper::map_date(GUPnPDIDLLiteObject* obj, MediaObject& o, const std::string& where) {
    const char* raw = gupnp_didl_lite_object_get_date(obj);
    if (!raw) return;
    auto d = parse_date(raw);
    if (!d) {
        warn(where + ": invalid dc:date " + quote(raw));
        return;
    }
    // A music track's or album's dc:date is its release; so is a bare year.
    auto is = [&](std::string_view prefix) { return o.upnp_class.compare(0, prefix.size(), prefix) == 0; };
    if (is("object.item.audioItem.musicTrack") || is("object.container.album.musicAlbum") || d->year_only)
        o.release_date = d->day;
    else
        o.date = d->full;
}

// The first upnp:albumArtURI the bridge can fetch (Gerbera lists the embedded
// picture, then the folder's; Rygel gives local clients a file:// URL).
std::string ObjectMapper::album_art(GUPnPDIDLLiteObject* obj, const std::string& where) {
    std::unique_ptr<GList, GListFree> props(gupnp_didl_lite_object_get_properties(obj, "albumArtURI"));
    for (GList* l = props.get(); l; l = l->next) {
        std::string url(trim_ascii(node_text(static_cast<xmlNode*>(l->data))));
        if (url.size() <= lim_.max_value_bytes && is_fetchable_url(url)) return url;
    }
    if (props) warn(where + ": no http(s) upnp:albumArtURI, cover left out");
    return {};
}

void ObjectMapper::map_resources(GUPnPDIDLLiteObject* obj, MediaObject& o, const std::string& where) {
    std::unique_ptr<GList, GListUnrefAll> list(gupnp_didl_lite_object_get_resources(obj));
    std::vector<ResourceCandidate> cands;
    std::vector<xmlNode*> nodes;
    for (GList* l = list.get(); l; l = l->next) {
        auto* r = GUPNP_DIDL_LITE_RESOURCE(l->data);
        ResourceCandidate c;
        const char* uri = gupnp_didl_lite_resource_get_uri(r);
        std::string_view u = trim_ascii(uri ? uri : "");
        if (u.size() <= lim_.max_value_bytes) c.url = u;  // longer: not fetchable, never chosen
        xmlNode* rn = gupnp_didl_lite_resource_get_xml_node(r);
        protocol_info(rn, c);
        if (auto s = raw_attr(rn, "size")) c.size = parse_u64(*s);
        cands.push_back(std::move(c));
        nodes.push_back(rn);
    }
    if (auto best = best_resource(cands, o.cls)) {
        const ResourceCandidate& c = cands[*best];
        o.res_url = c.url;
        o.mime_type = c.mime_type;
        o.size = c.size;
        res_numbers(nodes[*best], o, where);  // from the chosen <res> only: they describe what is offered
    } else if (!cands.empty()) {
        warn(where + ": no <res> fetchable over http(s), nothing to transfer");
    }
}

void ObjectMapper::res_numbers(xmlNode* res, MediaObject& o, const std::string& where) {
    if (auto s = raw_attr(res, "size"); s && !o.size) warn(where + ": invalid res@size " + quote(*s));
    if (auto d = raw_attr(res, "duration")) {
        o.duration_s = parse_duration(*d);
        if (!o.duration_s) warn(where + ": invalid res@duration " + quote(*d));
    }
    if (auto v = raw_attr(res, "resolution")) {
        if (auto r = parse_resolution(*v))
            o.resolution = *r;
        else
            warn(where + ": invalid res@resolution " + quote(*v));
    }
    if (auto b = raw_attr(res, "bitrate")) {
        auto declared = parse_u64(*b);
        std::string note;
        if (declared) o.bitrate_bps = bitrate_bps(*declared, o.size, o.duration_s, note);
        if (!declared)
            warn(where + ": invalid res@bitrate " + quote(*b));
        else if (!note.empty())
            warn(where + ": res@bitrate " + quote(*b) + (o.bitrate_bps ? " " : " left out: ") + note);
    }
}

}  // namespace xpmn::mappings
