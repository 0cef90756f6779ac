// Other bridges' media servers shown to the LAN's UPnP control points
// ([upnp] show_remote_servers): every server profiles::RemoteServers reports
// (the media servers of the bridges this one is paired with as a
// controller) becomes a UPnP MediaServer:1 root device on each network
// context of the finder. Its ContentDirectory (Browse, Search) is answered
// from the server's Directory profile through this bridge's controller
// session (ExportedDirectory); its items are served over HTTP on the
// bridge's address on that network (controller::RangeServer, LAN mode) at
// http://ADDR:PORT/<the item's transfer URI>, each request one transfer of
// the asked range over the OOB session with the server's device. Only
// peers in that network's subnet are served (403), only items of servers
// shown now (404). Descriptions and SCPDs live in a directory of their own
// that gupnp serves; a server that goes is announced gone (byebye).
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "adapters/upnp/exported_directory.hpp"
#include "adapters/upnp/lan_export_description.hpp"
#include "bridge/profiles/remote_items.hpp"
#include "bridge/profiles/remote_servers.hpp"
#include "bridge/relay/http_range.hpp"
#include "controller/range_server.hpp"

typedef struct _GUPnPContext GUPnPContext;

namespace xpmn::upnp {

class LanExport {
public:
    // `dir`: where descriptions and SCPDs are written (served as a whole).
    LanExport(boost::asio::io_context& io, std::shared_ptr<profiles::RemoteItems> remote,
              std::shared_ptr<xtls::TrustStore> trust, std::string dir);
    ~LanExport();
    LanExport(const LanExport&) = delete;
    LanExport& operator=(const LanExport&) = delete;

    void start();
    // Every shown server is announced gone; nothing is shown any more.
    void stop();
    // The finder's network contexts: devices are shown on each.
    void context_available(GUPnPContext* context);
    void context_unavailable(GUPnPContext* context);

private:
    struct Server {
        profiles::RemoteServers::Server remote;
        ExportedDevice device;
        std::shared_ptr<ExportedDirectory> directory;
    };
    struct Published;
    struct Network;

    void server_available(const profiles::RemoteServers::Server& server);
    void server_unavailable(const std::string& jid);
    void publish(Network& network, const Server& server);
    void open_media(const std::string& uri, std::optional<relay::RangeSpec> range,
                    controller::RangeServer::OpenHandler done);

    boost::asio::io_context& io_;
    std::shared_ptr<profiles::RemoteItems> remote_;
    std::shared_ptr<xtls::TrustStore> trust_;
    std::string dir_;
    std::shared_ptr<profiles::RemoteServers> servers_watch_;
    std::map<std::string, Server> servers_;  // by full JID
    std::map<GUPnPContext*, std::unique_ptr<Network>> networks_;
    bool started_ = false, stopped_ = false;
};

}  // namespace xpmn::upnp
