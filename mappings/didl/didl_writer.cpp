#include "mappings/didl/didl_writer.hpp"

#include <libgupnp-av/gupnp-av.h>

#include <cstdlib>
#include <memory>

#include "mappings/didl/didl_values.hpp"
#include "mappings/didl/glib_handles.hpp"

namespace xpmn::mappings {

namespace {

const char* upnp_class_for(const std::string& cls) {
    if (cls == "audio") return "object.item.audioItem.musicTrack";
    if (cls == "video") return "object.item.videoItem";
    if (cls == "image") return "object.item.imageItem.photo";
    return "object.item";
}

}  // namespace

std::string didl_for_playable(const std::string& url, const std::optional<xml::Element>& metadata) {
    std::unique_ptr<GUPnPDIDLLiteWriter, GObjectUnref> writer(gupnp_didl_lite_writer_new(nullptr));
    std::unique_ptr<GUPnPDIDLLiteItem, GObjectUnref> item(gupnp_didl_lite_writer_add_item(writer.get()));
    auto* obj = GUPNP_DIDL_LITE_OBJECT(item.get());
    auto text = [&](const char* name) { return metadata ? metadata->child_text(name) : std::string(); };
    gupnp_didl_lite_object_set_id(obj, "0");
    gupnp_didl_lite_object_set_parent_id(obj, "-1");
    gupnp_didl_lite_object_set_restricted(obj, TRUE);
    std::string title = text("title");
    gupnp_didl_lite_object_set_title(obj, title.empty() ? url.c_str() : title.c_str());
    gupnp_didl_lite_object_set_upnp_class(obj, upnp_class_for(text("class")));
    if (auto v = text("artist"); !v.empty()) {
        std::unique_ptr<GUPnPDIDLLiteContributor, GObjectUnref> artist(gupnp_didl_lite_object_add_artist(obj));
        gupnp_didl_lite_contributor_set_name(artist.get(), v.c_str());
    }
    if (auto v = text("album"); !v.empty()) gupnp_didl_lite_object_set_album(obj, v.c_str());
    if (auto v = text("genre"); !v.empty()) gupnp_didl_lite_object_set_genre(obj, v.c_str());
    if (auto v = text("creator"); !v.empty()) gupnp_didl_lite_object_set_creator(obj, v.c_str());
    if (auto v = text("description"); !v.empty()) gupnp_didl_lite_object_set_description(obj, v.c_str());
    if (auto v = parse_track_number(text("track-number"))) gupnp_didl_lite_object_set_track_number(obj, *v);

    std::unique_ptr<GUPnPDIDLLiteResource, GObjectUnref> res(gupnp_didl_lite_object_add_resource(obj));
    gupnp_didl_lite_resource_set_uri(res.get(), url.c_str());
    std::unique_ptr<GUPnPProtocolInfo, GObjectUnref> info(gupnp_protocol_info_new());
    gupnp_protocol_info_set_protocol(info.get(), "http-get");
    gupnp_protocol_info_set_network(info.get(), "*");
    std::string mime = text("mime-type");
    gupnp_protocol_info_set_mime_type(info.get(), mime.empty() ? "*" : mime.c_str());
    gupnp_didl_lite_resource_set_protocol_info(res.get(), info.get());
    // Checked before the cast: NaN, infinite or huge (from a NAS) is left out, never UB.
    if (auto d = std::strtod(text("duration").c_str(), nullptr); d > 0 && d <= kMaxMediaSeconds)
        gupnp_didl_lite_resource_set_duration(res.get(), static_cast<glong>(d));
    if (auto s = parse_u64(text("size"))) gupnp_didl_lite_resource_set_size64(res.get(), static_cast<gint64>(*s));

    char* xml = gupnp_didl_lite_writer_get_string(writer.get());
    std::string out = xml ? xml : "";
    g_free(xml);
    return out;
}

}  // namespace xpmn::mappings
