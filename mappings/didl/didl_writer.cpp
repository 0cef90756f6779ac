#include "mappings/didl/didl_writer.hpp"

#include <libgupnp-av/gupnp-av.h>

#include <cstdlib>
#include <memory>

#include "mappings/didl/didl_values.hpp"
#include "mappings/didl/glib_handles.hpp"

namespace xpmn::mappings {

namespace {

using Writer = std::unique_ptr<GUPnPDIDLLiteWriter, GObjectUnref>;

const char* upnp_class_for(const std::string& cls) {
    if (cls == "audio") return "object.item.audioItem.musicTrack";
    if (cls == "video") return "object.item.videoItem";
    if (cls == "image") return "object.item.imageItem.photo";
    return "object.item";
}

std::string text_of(const xml::Element* metadata, const char* name) {
    return metadata ? metadata->child_text(name) : std::string();
}

// The properties an item and a container share: ids, title, restricted.
void set_common(GUPnPDIDLLiteObject* obj, const std::string& id, const std::string& parent, const std::string& title) {
    gupnp_didl_lite_object_set_id(obj, id.c_str());
    gupnp_didl_lite_object_set_parent_id(obj, parent.c_str());
    gupnp_didl_lite_object_set_restricted(obj, TRUE);
    gupnp_didl_lite_object_set_title(obj, title.c_str());
}

// Everything of an item but its ids and title: class, tags, the resource at `url`.
// `ranges`: the URL's server answers byte ranges (DLNA.ORG_OP=01: players may seek).
void describe_item(GUPnPDIDLLiteObject* obj, const xml::Element* metadata, const std::string& url, bool ranges) {
    auto text = [&](const char* name) { return text_of(metadata, name); };
    const std::string cls = text("class");
    gupnp_didl_lite_object_set_upnp_class(obj, upnp_class_for(cls));
    if (auto v = text("artist"); !v.empty()) {
        std::unique_ptr<GUPnPDIDLLiteContributor, GObjectUnref> artist(gupnp_didl_lite_object_add_artist(obj));
        gupnp_didl_lite_contributor_set_name(artist.get(), v.c_str());
    }
    if (auto v = text("album"); !v.empty()) gupnp_didl_lite_object_set_album(obj, v.c_str());
    if (auto v = text("genre"); !v.empty()) gupnp_didl_lite_object_set_genre(obj, v.c_str());
    if (auto v = text("creator"); !v.empty()) gupnp_didl_lite_object_set_creator(obj, v.c_str());
    if (auto v = text("description"); !v.empty()) gupnp_didl_lite_object_set_description(obj, v.c_str());
    if (auto v = parse_track_number(text("track-number"))) gupnp_didl_lite_object_set_track_number(obj, *v);
    if (auto v = text(cls == "audio" ? "release-date" : "date"); !v.empty())
        gupnp_didl_lite_object_set_date(obj, v.c_str());
    if (url.empty()) return;  // nothing to fetch: no resource

    std::unique_ptr<GUPnPDIDLLiteResource, GObjectUnref> res(gupnp_didl_lite_object_add_resource(obj));
    gupnp_didl_lite_resource_set_uri(res.get(), url.c_str());
    std::unique_ptr<GUPnPProtocolInfo, GObjectUnref> info(gupnp_protocol_info_new());
    gupnp_protocol_info_set_protocol(info.get(), "http-get");
    gupnp_protocol_info_set_network(info.get(), "*");
    std::string mime = text("mime-type");
    gupnp_protocol_info_set_mime_type(info.get(), mime.empty() ? "*" : mime.c_str());
    if (ranges) gupnp_protocol_info_set_dlna_operation(info.get(), GUPNP_DLNA_OPERATION_RANGE);
    gupnp_didl_lite_resource_set_protocol_info(res.get(), info.get());
    // Checked before the cast: NaN, infinite or huge is left out, never UB.
    if (auto d = std::strtod(text("duration").c_str(), nullptr); d > 0 && d <= kMaxMediaSeconds)
        gupnp_didl_lite_resource_set_duration(res.get(), static_cast<glong>(d));
    // Values gupnp-av's signed fields cannot hold are left out.
    if (auto s = parse_u64(text("size")); s && *s <= static_cast<std::uint64_t>(G_MAXINT64))
        gupnp_didl_lite_resource_set_size64(res.get(), static_cast<gint64>(*s));
    // The profile's bitrate is bit/s; res@bitrate is bytes/s (UPnP AV).
    if (auto b = parse_u32(text("bitrate")); b && *b >= 8) gupnp_didl_lite_resource_set_bitrate(res.get(), *b / 8);
    if (auto r = parse_resolution(text("resolution"))) {
        auto x = r->find('x');
        gupnp_didl_lite_resource_set_width(res.get(), std::atoi(r->substr(0, x).c_str()));
        gupnp_didl_lite_resource_set_height(res.get(), std::atoi(r->substr(x + 1).c_str()));
    }
}

std::string finish(const Writer& writer) {
    char* xml = gupnp_didl_lite_writer_get_string(writer.get());
    std::string out = xml ? xml : "";
    g_free(xml);
    return out;
}

void set_cover(GUPnPDIDLLiteObject* obj, const xml::Element& o, const UrlForUri& url_for) {
    if (auto cover = o.child_text("cover-album"); !cover.empty())
        if (auto url = url_for(cover); !url.empty()) gupnp_didl_lite_object_set_album_art(obj, url.c_str());
}

}  // namespace

std::string didl_for_playable(const std::string& url, const std::optional<xml::Element>& metadata) {
    Writer writer(gupnp_didl_lite_writer_new(nullptr));
    std::unique_ptr<GUPnPDIDLLiteItem, GObjectUnref> item(gupnp_didl_lite_writer_add_item(writer.get()));
    auto* obj = GUPNP_DIDL_LITE_OBJECT(item.get());
    const xml::Element* m = metadata ? &*metadata : nullptr;
    std::string title = text_of(m, "title");
    set_common(obj, "0", "-1", title.empty() ? url : title);
    describe_item(obj, m, url, false);
    return finish(writer);
}

std::string didl_for_objects(const std::vector<const xml::Element*>& objects, const std::string& parent_id,
                             const UrlForUri& url_for) {
    Writer writer(gupnp_didl_lite_writer_new(nullptr));
    for (const auto* o : objects) {
        const std::string id = o->attr_or("id"), parent = o->attr_or("parent", parent_id);
        const std::string title = o->child_text("title");
        if (o->name() == "container") {
            std::unique_ptr<GUPnPDIDLLiteContainer, GObjectUnref> c(gupnp_didl_lite_writer_add_container(writer.get()));
            auto* obj = GUPNP_DIDL_LITE_OBJECT(c.get());
            set_common(obj, id, parent, title);
            gupnp_didl_lite_object_set_upnp_class(obj, "object.container.storageFolder");
            if (auto n = parse_u32(o->attr_or("child-count")); n && *n <= static_cast<std::uint32_t>(G_MAXINT))
                gupnp_didl_lite_container_set_child_count(c.get(), static_cast<gint>(*n));
            set_cover(obj, *o, url_for);
        } else if (o->name() == "item") {
            std::unique_ptr<GUPnPDIDLLiteItem, GObjectUnref> item(gupnp_didl_lite_writer_add_item(writer.get()));
            auto* obj = GUPNP_DIDL_LITE_OBJECT(item.get());
            set_common(obj, id, parent, title);
            auto uri = o->child_text("uri");
            describe_item(obj, o, uri.empty() ? std::string() : url_for(uri), true);
            set_cover(obj, *o, url_for);
        }
    }
    return finish(writer);
}

}  // namespace xpmn::mappings
