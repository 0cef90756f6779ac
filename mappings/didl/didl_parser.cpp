#include "mappings/didl/didl_parser.hpp"

#include <libgupnp-av/gupnp-av.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstring>
#include <memory>

#include "mappings/didl/didl_values.hpp"
#include "mappings/didl/resource_choice.hpp"

namespace xpmn::mappings {
namespace {

constexpr std::string_view kDidlNs = "urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/";
constexpr std::size_t kQuoteBytes = 48;       // of a bad value, in a warning
constexpr std::size_t kMaxXmlMessages = 5;    // libxml2 errors kept as warnings

struct GObjectUnref {
    void operator()(void* p) const { g_object_unref(p); }
};
struct GErrorFree {
    void operator()(GError* e) const { g_error_free(e); }
};
struct XmlFree {
    void operator()(xmlChar* p) const { xmlFree(p); }
};

std::string_view sv(const xmlChar* s) { return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view(); }

std::string quote(std::string_view v) {
    std::string q = truncate_utf8(v, kQuoteBytes);
    return "'" + q + (q.size() < v.size() ? "…'" : "'");
}

std::string_view trim(std::string_view s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

// Attribute value as written (gupnp-av's numeric getters turn garbage into 0
// or -1, so they cannot tell an invalid value from a real one).
std::optional<std::string> raw_attr(xmlNode* node, const char* name) {
    std::unique_ptr<xmlChar, XmlFree> v(xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name)));
    if (!v) return std::nullopt;
    return std::string(sv(v.get()));
}

std::string node_text(xmlNode* node) {
    std::unique_ptr<xmlChar, XmlFree> v(xmlNodeGetContent(node));
    return std::string(sv(v.get()));
}

// DIDL-Lite never needs a DTD. Refusing every markup declaration up front
// means no entity (internal or external) can exist, whatever libxml2's
// defaults are in this process. Comments and CDATA are the only "<!" allowed.
bool has_markup_declaration(std::string_view xml) {
    for (std::size_t p = xml.find("<!"); p != std::string_view::npos; p = xml.find("<!", p + 2)) {
        std::string_view rest = xml.substr(p + 2);
        if (rest.substr(0, 2) != "--" && rest.substr(0, 7) != "[CDATA[") return true;
    }
    return false;
}

// Routes libxml2's (thread-local) error reporting into warnings for the
// duration of one parse instead of stderr, and restores the previous handler.
class XmlErrorCapture {
public:
    XmlErrorCapture() : old_fn_(xmlStructuredError), old_ctx_(xmlStructuredErrorContext) {
        xmlSetStructuredErrorFunc(this, &XmlErrorCapture::on_error);
    }
    ~XmlErrorCapture() { xmlSetStructuredErrorFunc(old_ctx_, old_fn_); }
    XmlErrorCapture(const XmlErrorCapture&) = delete;
    XmlErrorCapture& operator=(const XmlErrorCapture&) = delete;

    const std::vector<std::string>& messages() const { return messages_; }
    std::size_t count() const { return count_; }

private:
    static void on_error(void* self, xmlErrorPtr err) {
        auto* c = static_cast<XmlErrorCapture*>(self);
        if (!err || c->count_++ >= kMaxXmlMessages) return;
        std::string msg(trim(err->message ? err->message : "unknown error"));
        c->messages_.push_back("XML line " + std::to_string(err->line) + ": " + truncate_utf8(msg, 200));
    }

    xmlStructuredErrorFunc old_fn_;
    void* old_ctx_;
    std::vector<std::string> messages_;
    std::size_t count_ = 0;
};

class Mapper {
public:
    Mapper(DidlParseResult& result, const DidlLimits& limits) : r_(result), lim_(limits) {}

    static void on_object(GUPnPDIDLLiteParser*, GUPnPDIDLLiteObject* obj, gpointer self) {
        auto* m = static_cast<Mapper*>(self);
        // No exception may unwind through gupnp-av's C frames.
        try {
            m->map(obj);
        } catch (const std::exception& e) {
            m->failure_ = std::string("mapping failed: ") + e.what();
            m->stopped_ = true;
        }
    }

    void warn(std::string text) {
        if (r_.warnings.size() < lim_.max_warnings)
            r_.warnings.push_back(std::move(text));
        else
            ++suppressed_;
    }

    void finish() {
        if (dropped_ > 0)
            warn("result truncated to " + std::to_string(lim_.max_objects) + " objects; " +
                 std::to_string(dropped_) + " more left out");
        if (suppressed_ > 0) r_.warnings.push_back(std::to_string(suppressed_) + " further warnings suppressed");
    }

    bool wrong_root() const { return wrong_root_; }
    const std::optional<std::string>& failure() const { return failure_; }
    std::size_t seen() const { return seen_; }

private:
    void map(GUPnPDIDLLiteObject* obj) {
        if (stopped_) return;
        ++seen_;
        xmlNode* node = gupnp_didl_lite_object_get_xml_node(obj);
        if (!node) return;
        if (!root_checked_) {
            root_checked_ = true;
            xmlNode* root = node->parent;
            // gupnp-av finds the root by local name only; the namespace is ours to check.
            if (!root || root->type != XML_ELEMENT_NODE || sv(root->name) != "DIDL-Lite" || !root->ns ||
                sv(root->ns->href) != kDidlNs) {
                wrong_root_ = stopped_ = true;
                return;
            }
        }
        if (r_.objects.size() >= lim_.max_objects) {
            ++dropped_;
            return;
        }
        const std::string what = std::string(sv(node->name)) + " #" + std::to_string(seen_);
        if (!node->ns || sv(node->ns->href) != kDidlNs) {
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
        else
            o.parent_id = parent;

        o.title = text(gupnp_didl_lite_object_get_title(obj), where, "dc:title");
        if (o.title.empty()) warn(where + ": no dc:title");
        o.upnp_class = text(gupnp_didl_lite_object_get_upnp_class(obj), where, "upnp:class");
        if (!o.is_container) o.cls = media_class(o.upnp_class);

        o.creator = text(gupnp_didl_lite_object_get_creator(obj), where, "dc:creator");
        o.artist = artist(obj, where);
        if (o.artist.empty()) o.artist = o.creator;  // wire profile §5: artist, else dc:creator
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
            map_resources(obj, o, where);
        }
        r_.objects.push_back(std::move(o));
    }

    std::string text(const char* v, const std::string& where, const char* field) {
        if (!v) return {};
        std::string_view s(v);
        if (s.size() <= lim_.max_value_bytes) return std::string(s);
        warn(where + ": " + field + " cut to " + std::to_string(lim_.max_value_bytes) + " bytes");
        return truncate_utf8(s, lim_.max_value_bytes);
    }

    std::optional<std::string> property_text(GUPnPDIDLLiteObject* obj, const char* name) {
        GList* props = gupnp_didl_lite_object_get_properties(obj, name);
        std::optional<std::string> out;
        if (props) out = node_text(static_cast<xmlNode*>(props->data));
        g_list_free(props);
        return out;
    }

    // upnp:artist without a role (the main artist), else the first one.
    std::string artist(GUPnPDIDLLiteObject* obj, const std::string& where) {
        GList* artists = gupnp_didl_lite_object_get_artists(obj);
        const char* chosen = nullptr;
        for (GList* l = artists; l; l = l->next) {
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
        std::string out = text(chosen, where, "upnp:artist");
        g_list_free_full(artists, g_object_unref);
        return out;
    }

    void map_date(GUPnPDIDLLiteObject* obj, MediaObject& o, const std::string& where) {
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

    std::string album_art(GUPnPDIDLLiteObject* obj, const std::string& where) {
        GList* props = gupnp_didl_lite_object_get_properties(obj, "albumArtURI");
        std::string out;
        bool any = false;
        for (GList* l = props; l && out.empty(); l = l->next) {
            std::string url(trim(node_text(static_cast<xmlNode*>(l->data))));
            any = true;
            if (url.size() <= lim_.max_value_bytes && is_fetchable_url(url)) out = std::move(url);
        }
        g_list_free(props);
        if (any && out.empty()) warn(where + ": no http(s) upnp:albumArtURI, cover left out");
        return out;
    }

    void map_resources(GUPnPDIDLLiteObject* obj, MediaObject& o, const std::string& where) {
        GList* list = gupnp_didl_lite_object_get_resources(obj);
        std::vector<ResourceCandidate> cands;
        std::vector<GUPnPDIDLLiteResource*> res;
        for (GList* l = list; l; l = l->next) {
            auto* r = GUPNP_DIDL_LITE_RESOURCE(l->data);
            ResourceCandidate c;
            const char* uri = gupnp_didl_lite_resource_get_uri(r);
            std::string_view u = trim(uri ? uri : "");
            if (u.size() <= lim_.max_value_bytes) c.url = u;
            xmlNode* rn = gupnp_didl_lite_resource_get_xml_node(r);
            protocol_info(rn, c);
            if (auto s = raw_attr(rn, "size")) c.size = parse_u64(*s);
            cands.push_back(std::move(c));
            res.push_back(r);
        }
        if (auto best = best_resource(cands, o.cls)) {
            const ResourceCandidate& c = cands[*best];
            o.res_url = c.url;
            o.mime_type = c.mime_type;
            o.size = c.size;
            res_numbers(gupnp_didl_lite_resource_get_xml_node(res[*best]), o, where);
        } else if (!cands.empty()) {
            warn(where + ": no <res> fetchable over http(s), nothing to transfer");
        }
        g_list_free_full(list, g_object_unref);
    }

    // Parsed here rather than with gupnp_didl_lite_resource_get_protocol_info,
    // which g_warning()s on every malformed value a server sends.
    static void protocol_info(xmlNode* res, ResourceCandidate& c) {
        auto raw = raw_attr(res, "protocolInfo");
        if (!raw) return;
        GError* raw_error = nullptr;
        std::unique_ptr<GUPnPProtocolInfo, GObjectUnref> pi(gupnp_protocol_info_new_from_string(raw->c_str(), &raw_error));
        std::unique_ptr<GError, GErrorFree> error(raw_error);
        if (!pi) return;  // unusable: the candidate ranks last, and is only chosen when it is all there is
        const char* proto = gupnp_protocol_info_get_protocol(pi.get());
        const char* mime = gupnp_protocol_info_get_mime_type(pi.get());
        c.protocol = proto ? proto : "";
        c.mime_type = mime && std::strcmp(mime, "*") != 0 ? truncate_utf8(mime, 255) : "";
        c.converted = (gupnp_protocol_info_get_dlna_conversion(pi.get()) & GUPNP_DLNA_CONVERSION_TRANSCODED) != 0;
    }

    void res_numbers(xmlNode* res, MediaObject& o, const std::string& where) {
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

    DidlParseResult& r_;
    const DidlLimits& lim_;
    std::size_t seen_ = 0, dropped_ = 0, suppressed_ = 0;
    bool root_checked_ = false, wrong_root_ = false, stopped_ = false;
    std::optional<std::string> failure_;
};

DidlParseResult fail(std::string error) {
    DidlParseResult r;
    r.ok = false;
    r.error = std::move(error);
    return r;
}

}  // namespace

DidlParseResult parse_didl(std::string_view xml, const DidlLimits& limits) {
    if (xml.size() > limits.max_document_bytes)
        return fail("DIDL-Lite document of " + std::to_string(xml.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.max_document_bytes));
    if (xml.find('\0') != std::string_view::npos) return fail("DIDL-Lite document contains a NUL byte");
    if (has_markup_declaration(xml)) return fail("DIDL-Lite document has a DTD or entity declaration (refused)");

    const std::string doc(xml);  // gupnp-av wants a NUL-terminated string
    DidlParseResult result;
    Mapper mapper(result, limits);
    GError* raw_error = nullptr;
    std::size_t xml_errors = 0;
    std::vector<std::string> xml_messages;
    {
        XmlErrorCapture capture;
        std::unique_ptr<GUPnPDIDLLiteParser, GObjectUnref> parser(gupnp_didl_lite_parser_new());
        g_signal_connect(parser.get(), "object-available", G_CALLBACK(&Mapper::on_object), &mapper);
        gupnp_didl_lite_parser_parse_didl(parser.get(), doc.c_str(), &raw_error);
        xml_errors = capture.count();
        xml_messages = capture.messages();
    }
    std::unique_ptr<GError, GErrorFree> error(raw_error);

    if (mapper.failure()) return fail(*mapper.failure());
    if (mapper.wrong_root()) return fail("root element is not DIDL-Lite in namespace " + std::string(kDidlNs));
    if (error) {
        if (error->domain == G_MARKUP_ERROR && error->code == G_MARKUP_ERROR_EMPTY) {
            // <DIDL-Lite/>: an empty container or a search without matches (Rygel sends this).
        } else if (std::string_view(error->message) == "Could not parse DIDL-Lite XML") {
            // gupnp-av stops at an item whose dc:date does not start like
            // YYYY-MM-DD or whose restricted attribute is not a boolean; the
            // objects before it are fine.
            mapper.warn("gupnp-av stopped after " + std::to_string(mapper.seen()) +
                        " objects at an item with an invalid dc:date or restricted attribute; the rest is missing");
        } else {
            // gupnp-av's messages embed the whole document: keep the first line only.
            std::string_view msg(error->message);
            msg = trim(msg.substr(0, msg.find('\n')));
            if (!msg.empty() && msg.back() == ':') msg.remove_suffix(1);
            auto out = fail("not a DIDL-Lite document: " + truncate_utf8(trim(msg), 200));
            for (auto& m : xml_messages) out.warnings.push_back(m);
            return out;
        }
    }
    for (auto& m : xml_messages) mapper.warn(m);
    if (xml_errors > xml_messages.size())
        mapper.warn(std::to_string(xml_errors - xml_messages.size()) + " more XML errors");
    mapper.finish();
    result.ok = true;
    return result;
}

}  // namespace xpmn::mappings
