#include "adapters/upnp/last_change.hpp"

#include <libgupnp-av/gupnp-av.h>

namespace xpmn::upnp {

std::optional<LastChange> parse_last_change(const std::string& xml) {
    GUPnPLastChangeParser* parser = gupnp_last_change_parser_new();
    char* values[5] = {};
    GError* error = nullptr;
    gboolean ok = gupnp_last_change_parser_parse_last_change(
        parser, 0, xml.c_str(), &error, "TransportState", G_TYPE_STRING, &values[0], "CurrentTrackURI", G_TYPE_STRING,
        &values[1], "CurrentTrackDuration", G_TYPE_STRING, &values[2], "Volume", G_TYPE_STRING, &values[3], "Mute",
        G_TYPE_STRING, &values[4], nullptr);
    g_object_unref(parser);
    g_clear_error(&error);
    std::optional<LastChange> out;
    if (ok) {
        out.emplace();
        std::optional<std::string>* fields[5] = {&out->transport_state, &out->current_track_uri,
                                                 &out->current_track_duration, &out->volume, &out->mute};
        for (int i = 0; i < 5; ++i)
            if (values[i]) *fields[i] = values[i];
    }
    for (char* v : values) g_free(v);
    return out;
}

}  // namespace xpmn::upnp
