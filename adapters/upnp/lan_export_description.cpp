#include "adapters/upnp/lan_export_description.hpp"

#include <glib.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "adapters/upnp/resource_name.hpp"
#include "common/atomic_file.hpp"

namespace xpmn::upnp {

namespace {

// The server's name as another bridge gave it: a control point shows only so much.
constexpr std::size_t kMaxName = 64;

// At most `n` characters (UTF-8 code points) of `text`.
std::string first_characters(const std::string& text, std::size_t n) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && count++ == n) return text.substr(0, i);
    return text;
}

std::string escaped(const std::string& text) {
    char* e = g_markup_escape_text(text.c_str(), static_cast<gssize>(text.size()));
    std::string out = e;
    g_free(e);
    return out;
}

// An argument of an action: its name, whether it is an out argument, its state variable.
struct Arg {
    const char* name;
    bool out;
    const char* variable;
};

std::string action(const char* name, const std::vector<Arg>& args) {
    std::string out = std::string("<action><name>") + name + "</name><argumentList>";
    for (const auto& a : args)
        out += std::string("<argument><name>") + a.name + "</name><direction>" + (a.out ? "out" : "in") +
               "</direction><relatedStateVariable>" + a.variable + "</relatedStateVariable></argument>";
    return out + "</argumentList></action>";
}

struct Variable {
    const char* name;
    const char* type;
    bool evented = false;
    std::vector<const char*> allowed = {};
};

std::string scpd(const std::string& actions, std::initializer_list<Variable> variables) {
    std::string table;
    for (const auto& v : variables) {
        table += std::string("<stateVariable sendEvents=\"") + (v.evented ? "yes" : "no") + "\"><name>" + v.name +
                 "</name><dataType>" + v.type + "</dataType>";
        if (!v.allowed.empty()) {
            table += "<allowedValueList>";
            for (const char* a : v.allowed) table += std::string("<allowedValue>") + a + "</allowedValue>";
            table += "</allowedValueList>";
        }
        table += "</stateVariable>";
    }
    return "<?xml version=\"1.0\"?>\n<scpd xmlns=\"urn:schemas-upnp-org:service-1-0\">"
           "<specVersion><major>1</major><minor>0</minor></specVersion><actionList>" +
           actions + "</actionList><serviceStateTable>" + table + "</serviceStateTable></scpd>\n";
}

constexpr bool in = false, out = true;

// Browse's and Search's arguments after their own first two: the page and its answer.
std::vector<Arg> paged(std::vector<Arg> first) {
    for (const Arg& a : {Arg{"Filter", in, "A_ARG_TYPE_Filter"}, Arg{"StartingIndex", in, "A_ARG_TYPE_Index"},
                         Arg{"RequestedCount", in, "A_ARG_TYPE_Count"},
                         Arg{"SortCriteria", in, "A_ARG_TYPE_SortCriteria"}, Arg{"Result", out, "A_ARG_TYPE_Result"},
                         Arg{"NumberReturned", out, "A_ARG_TYPE_Count"}, Arg{"TotalMatches", out, "A_ARG_TYPE_Count"},
                         Arg{"UpdateID", out, "A_ARG_TYPE_UpdateID"}})
        first.push_back(a);
    return first;
}

// Browse, Search (what search_criteria takes) and the three capability queries.
std::string content_directory_scpd() {
    return scpd(action("Browse", paged({{"ObjectID", in, "A_ARG_TYPE_ObjectID"},
                                        {"BrowseFlag", in, "A_ARG_TYPE_BrowseFlag"}})) +
                    action("Search", paged({{"ContainerID", in, "A_ARG_TYPE_ObjectID"},
                                            {"SearchCriteria", in, "A_ARG_TYPE_SearchCriteria"}})) +
                    action("GetSearchCapabilities", {{"SearchCaps", out, "SearchCapabilities"}}) +
                    action("GetSortCapabilities", {{"SortCaps", out, "SortCapabilities"}}) +
                    action("GetSystemUpdateID", {{"Id", out, "SystemUpdateID"}}),
                {{"A_ARG_TYPE_ObjectID", "string"},
                 {"A_ARG_TYPE_Result", "string"},
                 {"A_ARG_TYPE_BrowseFlag", "string", false, {"BrowseMetadata", "BrowseDirectChildren"}},
                 {"A_ARG_TYPE_Filter", "string"},
                 {"A_ARG_TYPE_SortCriteria", "string"},
                 {"A_ARG_TYPE_SearchCriteria", "string"},
                 {"A_ARG_TYPE_Index", "ui4"},
                 {"A_ARG_TYPE_Count", "ui4"},
                 {"A_ARG_TYPE_UpdateID", "ui4"},
                 {"SearchCapabilities", "string"},
                 {"SortCapabilities", "string"},
                 {"SystemUpdateID", "ui4", true}});
}

std::string connection_manager_scpd() {
    return scpd(action("GetProtocolInfo", {{"Source", out, "SourceProtocolInfo"}, {"Sink", out, "SinkProtocolInfo"}}) +
                    action("GetCurrentConnectionIDs", {{"ConnectionIDs", out, "CurrentConnectionIDs"}}) +
                    action("GetCurrentConnectionInfo", {{"ConnectionID", in, "A_ARG_TYPE_ConnectionID"},
                                                        {"RcsID", out, "A_ARG_TYPE_RcsID"},
                                                        {"AVTransportID", out, "A_ARG_TYPE_AVTransportID"},
                                                        {"ProtocolInfo", out, "A_ARG_TYPE_ProtocolInfo"},
                                                        {"PeerConnectionManager", out, "A_ARG_TYPE_ConnectionManager"},
                                                        {"PeerConnectionID", out, "A_ARG_TYPE_ConnectionID"},
                                                        {"Direction", out, "A_ARG_TYPE_Direction"},
                                                        {"Status", out, "A_ARG_TYPE_ConnectionStatus"}}),
                {{"SourceProtocolInfo", "string", true},
                 {"SinkProtocolInfo", "string", true},
                 {"CurrentConnectionIDs", "string", true},
                 {"A_ARG_TYPE_ConnectionStatus", "string"},
                 {"A_ARG_TYPE_ConnectionManager", "string"},
                 {"A_ARG_TYPE_Direction", "string"},
                 {"A_ARG_TYPE_ProtocolInfo", "string"},
                 {"A_ARG_TYPE_ConnectionID", "i4"},
                 {"A_ARG_TYPE_AVTransportID", "i4"},
                 {"A_ARG_TYPE_RcsID", "i4"}});
}

std::string service(const char* type, const char* id, const std::string& key, const char* name) {
    const std::string base = "/xpmn/" + key + "/" + name;
    return std::string("<service><serviceType>") + type + "</serviceType><serviceId>" + id +
           "</serviceId><SCPDURL>/xpmn-" + name + ".xml</SCPDURL><controlURL>" + base +
           "/control</controlURL><eventSubURL>" + base + "/event</eventSubURL></service>";
}

void write(const std::string& dir, const std::string& name, const std::string& content) {
    try {
        std::filesystem::create_directories(dir);
        common::write_file_atomically(dir + "/" + name, content);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot write " + dir + "/" + name + ": " + e.what());
    }
}

}  // namespace

ExportedDevice exported_device(const std::string& own_account, const std::string& server_jid,
                               const std::string& server_name) {
    const std::string h = sha1_hex("xpmn-export\n" + own_account + "\n" + server_jid);
    ExportedDevice d;
    d.key = h.substr(0, 16);
    // A name-based UUID (RFC 4122 §4.3 layout, version 5 bits): stable, unique per (bridge account, server).
    std::string u = h.substr(0, 32);
    u[12] = '5';
    u[16] = "89ab"[std::stoi(u.substr(16, 1), nullptr, 16) & 3];
    d.udn = "uuid:" + u.substr(0, 8) + "-" + u.substr(8, 4) + "-" + u.substr(12, 4) + "-" + u.substr(16, 4) + "-" +
            u.substr(20, 12);
    auto slash = server_jid.find('/');
    d.friendly_name = first_characters(server_name, kMaxName) + " (" + server_jid.substr(0, slash) + ")";
    d.file = "xpmn-" + d.key + ".xml";
    return d;
}

std::string device_description(const ExportedDevice& d) {
    return "<?xml version=\"1.0\"?>\n"
           "<root xmlns=\"urn:schemas-upnp-org:device-1-0\" xmlns:dlna=\"urn:schemas-dlna-org:device-1-0\">"
           "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
           "<deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>"
           "<friendlyName>" + escaped(d.friendly_name) + "</friendlyName>"
           "<manufacturer>xpmn-bridge</manufacturer>"
           "<modelDescription>A media server of another home, reached through XMPP</modelDescription>"
           "<modelName>" + std::string(kExportModelName) + "</modelName>"
           "<UDN>" + d.udn + "</UDN><dlna:X_DLNADOC>DMS-1.50</dlna:X_DLNADOC><serviceList>" +
           service(kContentDirectory1, "urn:upnp-org:serviceId:ContentDirectory", d.key, "ContentDirectory") +
           service(kConnectionManager1, "urn:upnp-org:serviceId:ConnectionManager", d.key, "ConnectionManager") +
           "</serviceList></device></root>\n";
}

void prepare_export_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) throw std::runtime_error("cannot empty " + dir + ": " + ec.message());
    write(dir, "xpmn-ContentDirectory.xml", content_directory_scpd());
    write(dir, "xpmn-ConnectionManager.xml", connection_manager_scpd());
}

void write_description(const std::string& dir, const ExportedDevice& device) {
    write(dir, device.file, device_description(device));
}

void remove_description(const std::string& dir, const ExportedDevice& device) {
    std::error_code ec;
    std::filesystem::remove(dir + "/" + device.file, ec);
    if (ec) spdlog::warn("upnp: cannot remove {}/{}: {}", dir, device.file, ec.message());
}

}  // namespace xpmn::upnp
