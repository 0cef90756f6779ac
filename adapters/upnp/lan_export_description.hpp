// What a UPnP control point reads about a server shown by the LAN export
// (adapters/upnp/lan_export): the device description (MediaServer:1 with
// ContentDirectory:1 and ConnectionManager:1, at paths of its own so that
// several devices share one gupnp context) and the two services' SCPDs,
// written into a directory of their own that gupnp serves as a whole.
#pragma once

#include <string>

namespace xpmn::upnp {

// modelName of every device the export shows: the finder ignores devices
// with it, so a bridge never shows again what it (or another bridge on the
// same LAN) exports: no loop between two bridges of one network.
inline constexpr const char* kExportModelName = "xpmn-bridge export";

// GetSearchCapabilities: the properties adapters/upnp/search_criteria maps.
inline constexpr const char* kSearchCapabilities = "dc:title,upnp:artist,upnp:album,upnp:genre,dc:creator,upnp:class";

inline constexpr const char* kContentDirectory1 = "urn:schemas-upnp-org:service:ContentDirectory:1";
inline constexpr const char* kConnectionManager1 = "urn:schemas-upnp-org:service:ConnectionManager:1";

struct ExportedDevice {
    std::string key;            // 16 hex digits from this bridge's account and the server's JID (paths)
    std::string udn;            // uuid:… from the same: stable across restarts
    std::string friendly_name;  // "NAME (ACCOUNT)"
    std::string file;           // the description's file name in the directory
};

ExportedDevice exported_device(const std::string& own_account, const std::string& server_jid,
                               const std::string& server_name);
std::string device_description(const ExportedDevice& device);

// `dir` emptied (made if missing: everything in it is served on the LAN, so
// nothing of an earlier run stays) with the SCPDs in it; the description of
// `device` written there. Both throw std::runtime_error with the path when
// they cannot. remove_description only logs a failure.
void prepare_export_dir(const std::string& dir);
void write_description(const std::string& dir, const ExportedDevice& device);
void remove_description(const std::string& dir, const ExportedDevice& device);

}  // namespace xpmn::upnp
