#include "adapters/upnp/lan_export.hpp"

#include <libgupnp/gupnp.h>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <set>

#include "controller/directory_request.hpp"
#include "xmpp/core/transfer_uri.hpp"

namespace xpmn::upnp {

namespace {

constexpr const char* kSourceProtocolInfo = "http-get:*:*:*";
// Browse and Search actions waiting for the other bridge, per device and
// network: a control point flooding it gets 501 beyond this.
constexpr std::size_t kMaxPending = 32;

}  // namespace

// One network: its context, its subnet, the HTTP server of the items (made
// on first use) and the devices shown there.
struct LanExport::Network {
    GUPnPContext* context = nullptr;  // a reference
    std::string address;
    GInetAddressMask* mask = nullptr;  // owned; null: the context knew none
    std::unique_ptr<controller::RangeServer> media;
    std::map<std::string, std::shared_ptr<Published>> published;  // by server JID

    ~Network() {
        while (!published.empty()) unpublish(published.begin()->first);  // byebye before the context goes
        media.reset();
        if (mask) g_object_unref(mask);
        g_object_unref(context);
    }
    // Takes the device of `jid` off this network.
    void unpublish(const std::string& jid);
    std::string dir;  // what "" serves
    bool admits(const std::string& peer) const {
        if (!mask) return true;
        GInetAddress* a = g_inet_address_new_from_string(peer.c_str());
        if (!a) return false;
        bool inside = g_inet_address_mask_matches(mask, a);
        g_object_unref(a);
        return inside;
    }
};

// One server's root device on one network, with its two services. Actions
// are answered later (a Browse waits for the other bridge): the ones not
// yet answered are failed when the device goes.
struct LanExport::Published : std::enable_shared_from_this<Published> {
    GUPnPRootDevice* root = nullptr;
    GUPnPServiceInfo* directory_service = nullptr;
    GUPnPServiceInfo* connection_manager = nullptr;
    std::shared_ptr<ExportedDirectory> directory;
    std::function<std::string(const std::string&)> url_for;
    std::set<GUPnPServiceAction*> pending;

    ~Published() {
        for (auto* s : {directory_service, connection_manager})
            if (s) g_signal_handlers_disconnect_by_data(s, this);
        for (auto* a : std::exchange(pending, {})) gupnp_service_action_return_error(a, 501, "The server is gone");
        // No set_available(FALSE) first: gssdp drops the byebyes it queued then
        // when the device goes at once; a device disposed while available
        // sends all of them right away.
        for (auto* s : {directory_service, connection_manager})
            if (s) g_object_unref(s);
        if (root) g_object_unref(root);
    }

    static Published& of(gpointer data) { return *static_cast<Published*>(data); }

    static void browse(GUPnPService*, GUPnPServiceAction* action, gpointer data) {
        auto& self = of(data);
        char* object_id = nullptr;
        char* flag = nullptr;
        guint start = 0, count = 0;
        gupnp_service_action_get(action, "ObjectID", G_TYPE_STRING, &object_id, "BrowseFlag", G_TYPE_STRING, &flag,
                                 "StartingIndex", G_TYPE_UINT, &start, "RequestedCount", G_TYPE_UINT, &count,
                                 nullptr);
        BrowseArgs args;
        args.object_id = object_id ? object_id : "";
        const std::string browse_flag = flag ? flag : "";
        g_free(object_id);
        g_free(flag);
        if (browse_flag != "BrowseMetadata" && browse_flag != "BrowseDirectChildren")
            return gupnp_service_action_return_error(action, 402, "Invalid Args: BrowseFlag");
        args.metadata = browse_flag == "BrowseMetadata";
        args.start = start;
        args.count = count;
        if (!self.take(action)) return;
        self.directory->browse(args, self.live_url_for(), self.answer(action));
    }
    static void search(GUPnPService*, GUPnPServiceAction* action, gpointer data) {
        auto& self = of(data);
        char* container = nullptr;
        char* criteria = nullptr;
        guint start = 0, count = 0;
        gupnp_service_action_get(action, "ContainerID", G_TYPE_STRING, &container, "SearchCriteria", G_TYPE_STRING,
                                 &criteria, "StartingIndex", G_TYPE_UINT, &start, "RequestedCount", G_TYPE_UINT,
                                 &count, nullptr);
        SearchArgs args{container ? container : "", criteria ? criteria : "", start, count};
        g_free(container);
        g_free(criteria);
        if (!self.take(action)) return;
        self.directory->search(args, self.live_url_for(), self.answer(action));
    }
    // Keeps `action` until its answer comes; refuses it when too many wait.
    bool take(GUPnPServiceAction* action) {
        if (pending.size() >= kMaxPending) {
            gupnp_service_action_return_error(action, 501, "Action Failed: too many requests at once");
            return false;
        }
        pending.insert(action);
        return true;
    }

    // The answer may come after this device went: its URLs are made only while it is here.
    mappings::UrlForUri live_url_for() {
        return [weak = weak_from_this()](const std::string& uri) {
            auto self = weak.lock();
            return self ? self->url_for(uri) : std::string();
        };
    }
    // Returns `action` (pending) with a Browse or Search answer, unless the device went first.
    std::function<void(Result<BrowseAnswer>)> answer(GUPnPServiceAction* action) {
        return [weak = weak_from_this(), action](Result<BrowseAnswer> r) {
            auto self = weak.lock();
            if (!self || !self->pending.erase(action)) return;  // answered already (the device went)
            if (!r) {
                auto e = action_error_for(r.error());
                return gupnp_service_action_return_error(action, static_cast<guint>(e.code), e.text.c_str());
            }
            gupnp_service_action_set(action, "Result", G_TYPE_STRING, r->didl.c_str(), "NumberReturned", G_TYPE_UINT,
                                     r->returned, "TotalMatches", G_TYPE_UINT, r->total, "UpdateID", G_TYPE_UINT,
                                     r->update_id, nullptr);
            gupnp_service_action_return_success(action);
        };
    }
    static void capabilities(GUPnPService*, GUPnPServiceAction* action, gpointer) {
        const bool search = std::string(gupnp_service_action_get_name(action)) == "GetSearchCapabilities";
        gupnp_service_action_set(action, search ? "SearchCaps" : "SortCaps", G_TYPE_STRING,
                                 search ? kSearchCapabilities : "", nullptr);
        gupnp_service_action_return_success(action);
    }
    static void system_update_id(GUPnPService*, GUPnPServiceAction* action, gpointer data) {
        gupnp_service_action_set(action, "Id", G_TYPE_UINT, of(data).directory->system_update_id(), nullptr);
        gupnp_service_action_return_success(action);
    }
    static void protocol_info(GUPnPService*, GUPnPServiceAction* action, gpointer) {
        gupnp_service_action_set(action, "Source", G_TYPE_STRING, kSourceProtocolInfo, "Sink", G_TYPE_STRING, "",
                                 nullptr);
        gupnp_service_action_return_success(action);
    }
    static void connection_ids(GUPnPService*, GUPnPServiceAction* action, gpointer) {
        gupnp_service_action_set(action, "ConnectionIDs", G_TYPE_STRING, "0", nullptr);
        gupnp_service_action_return_success(action);
    }
    static void connection_info(GUPnPService*, GUPnPServiceAction* action, gpointer) {
        gint id = -1;
        gupnp_service_action_get(action, "ConnectionID", G_TYPE_INT, &id, nullptr);
        if (id != 0) return gupnp_service_action_return_error(action, 706, "Invalid connection reference");
        gupnp_service_action_set(action, "RcsID", G_TYPE_INT, -1, "AVTransportID", G_TYPE_INT, -1, "ProtocolInfo",
                                 G_TYPE_STRING, "", "PeerConnectionManager", G_TYPE_STRING, "", "PeerConnectionID",
                                 G_TYPE_INT, -1, "Direction", G_TYPE_STRING, "Output", "Status", G_TYPE_STRING, "OK",
                                 nullptr);
        gupnp_service_action_return_success(action);
    }
    // The evented variables' values for a new GENA subscriber.
    static void query_variable(GUPnPService*, char* variable, GValue* value, gpointer data) {
        const std::string name = variable;
        if (name == "SystemUpdateID") {
            g_value_init(value, G_TYPE_UINT);
            g_value_set_uint(value, of(data).directory->system_update_id());
        } else {
            g_value_init(value, G_TYPE_STRING);
            g_value_set_string(value, name == "SourceProtocolInfo"     ? kSourceProtocolInfo
                                      : name == "CurrentConnectionIDs" ? "0"
                                                                       : "");
        }
    }

    void connect() {
        auto on = [this](GUPnPServiceInfo* service, const char* signal, GCallback callback) {
            g_signal_connect(service, signal, callback, this);
        };
        on(directory_service, "action-invoked::Browse", G_CALLBACK(&Published::browse));
        on(directory_service, "action-invoked::Search", G_CALLBACK(&Published::search));
        on(directory_service, "action-invoked::GetSearchCapabilities", G_CALLBACK(&Published::capabilities));
        on(directory_service, "action-invoked::GetSortCapabilities", G_CALLBACK(&Published::capabilities));
        on(directory_service, "action-invoked::GetSystemUpdateID", G_CALLBACK(&Published::system_update_id));
        on(directory_service, "query-variable", G_CALLBACK(&Published::query_variable));
        on(connection_manager, "action-invoked::GetProtocolInfo", G_CALLBACK(&Published::protocol_info));
        on(connection_manager, "action-invoked::GetCurrentConnectionIDs", G_CALLBACK(&Published::connection_ids));
        on(connection_manager, "action-invoked::GetCurrentConnectionInfo", G_CALLBACK(&Published::connection_info));
        on(connection_manager, "query-variable", G_CALLBACK(&Published::query_variable));
    }
};

// gupnp 1.6 hosts, for every root device, its description at
// /<relative location> and the whole description directory at "" on the
// context's server, and never takes them back (a context outlives many
// devices): both are undone here, "" kept hosted (once per device still
// here) while other devices use it.
void LanExport::Network::unpublish(const std::string& jid) {
    auto it = published.find(jid);
    if (it == published.end()) return;
    const std::string description =
        std::string("/") + gupnp_root_device_get_description_document_name(it->second->root);
    published.erase(it);  // its byebye goes now
    gupnp_context_unhost_path(context, description.c_str());
    gupnp_context_unhost_path(context, "");  // takes the handler of "" with it …
    if (!published.empty()) {                // … so the others' is made again
        gupnp_context_unhost_path(context, "");
        gupnp_context_host_path(context, dir.c_str(), "");
    }
}

LanExport::LanExport(boost::asio::io_context& io, std::shared_ptr<profiles::RemoteItems> remote,
                     std::shared_ptr<xtls::TrustStore> trust, std::string dir)
    : io_(io), remote_(std::move(remote)), trust_(std::move(trust)), dir_(std::move(dir)) {}

LanExport::~LanExport() { stop(); }

void LanExport::start() {
    if (std::exchange(started_, true) || stopped_) return;
    try {
        prepare_export_dir(dir_);
    } catch (const std::exception& e) {
        spdlog::error("upnp: other bridges' servers are not shown on the LAN: {}", e.what());
        return;
    }
    servers_watch_ = profiles::RemoteServers::create(
        remote_, trust_,
        {[this](const profiles::RemoteServers::Server& s) { server_available(s); },
         [this](const std::string& jid) { server_unavailable(jid); }});
    servers_watch_->start();
}

void LanExport::stop() {
    if (std::exchange(stopped_, true)) return;
    if (servers_watch_) servers_watch_->stop();  // reports every server gone
    servers_watch_.reset();
    networks_.clear();
    for (auto& [jid, server] : servers_) server.directory->on_update_id(nullptr);
    servers_.clear();
}

void LanExport::context_available(GUPnPContext* context) {
    if (stopped_) return;
    auto network = std::make_unique<Network>();
    network->context = GUPNP_CONTEXT(g_object_ref(context));
    if (const char* ip = gssdp_client_get_host_ip(GSSDP_CLIENT(context))) network->address = ip;
    network->mask = gssdp_client_get_address_mask(GSSDP_CLIENT(context));
    network->dir = dir_;
    auto& n = *network;
    networks_[context] = std::move(network);
    for (const auto& [jid, server] : servers_) publish(n, server);
}

void LanExport::context_unavailable(GUPnPContext* context) { networks_.erase(context); }

void LanExport::server_available(const profiles::RemoteServers::Server& remote) {
    if (stopped_ || servers_.count(remote.jid)) return;
    Server s;
    s.remote = remote;
    s.device = exported_device(remote_->account().bare().str(), remote.jid, remote.name);
    std::weak_ptr<profiles::RemoteItems> weak_remote = remote_;
    s.directory = std::make_shared<ExportedDirectory>(
        remote.name, [weak_remote, jid = remote.jid](xml::Element payload,
                                                     std::function<void(Result<xml::Element>)> done) {
            auto remote = weak_remote.lock();
            if (!remote) return done(Error{"service-unavailable", "the bridge is stopping"});
            remote->when_online([weak_remote, jid, payload = std::move(payload), done](Result<void> online) {
                auto remote = weak_remote.lock();
                if (!online || !remote) return done(online ? Error{"service-unavailable", "stopping"} : online.error());
                controller::directory_request(remote->links(), jid, payload, done);
            });
        });
    try {
        write_description(dir_, s.device);
    } catch (const std::exception& e) {
        spdlog::error("upnp: '{}' ({}) is not shown on the LAN: {}", remote.name, remote.jid, e.what());
        return;
    }
    spdlog::info("upnp: showing '{}' ({}) on the LAN as {}", remote.name, remote.jid, s.device.udn);
    s.directory->on_update_id([this, jid = remote.jid](std::uint32_t id) {
        // GENA subscribers learn that the content changed.
        for (auto& [context, network] : networks_)
            if (auto it = network->published.find(jid); it != network->published.end())
                gupnp_service_notify(GUPNP_SERVICE(it->second->directory_service), "SystemUpdateID", G_TYPE_UINT,
                                     id, nullptr);
    });
    auto& server = servers_[remote.jid] = std::move(s);
    for (auto& [context, network] : networks_) publish(*network, server);
}

void LanExport::server_unavailable(const std::string& jid) {
    auto it = servers_.find(jid);
    if (it == servers_.end()) return;
    spdlog::info("upnp: '{}' ({}) is no longer shown on the LAN", it->second.remote.name, jid);
    for (auto& [context, network] : networks_) network->unpublish(jid);
    it->second.directory->on_update_id(nullptr);  // it may outlive this (answers in flight)
    remove_description(dir_, it->second.device);
    servers_.erase(it);
}

void LanExport::publish(Network& network, const Server& server) {
    GError* error = nullptr;
    GUPnPRootDevice* root =
        gupnp_root_device_new(network.context, server.device.file.c_str(), dir_.c_str(), &error);
    if (!root) {
        spdlog::error("upnp: cannot show '{}' on {}: {}", server.remote.name, network.address,
                      error ? error->message : "unknown error");
        if (error) g_error_free(error);
        return;
    }
    auto p = std::make_shared<Published>();
    p->root = root;
    p->directory = server.directory;
    p->directory_service = gupnp_device_info_get_service(GUPNP_DEVICE_INFO(root), kContentDirectory1);
    p->connection_manager = gupnp_device_info_get_service(GUPNP_DEVICE_INFO(root), kConnectionManager1);
    network.published[server.remote.jid] = p;  // from here on, unpublish undoes what gupnp hosted
    if (!p->directory_service || !p->connection_manager) {
        spdlog::error("upnp: cannot show '{}' on {}: its services are missing", server.remote.name, network.address);
        return network.unpublish(server.remote.jid);
    }
    Network* n = &network;
    p->url_for = [this, n](const std::string& uri) -> std::string {
        try {
            if (!n->media) {
                auto admits = [n](const std::string&, const std::string& peer) { return n->admits(peer); };
                n->media = std::make_unique<controller::RangeServer>(
                    [this](const std::string& u, std::optional<relay::RangeSpec> range,
                           controller::RangeServer::OpenHandler done) { open_media(u, range, std::move(done)); },
                    controller::RangeServer::LanBinding{n->address, admits});
            }
            return n->media->url_for(uri);
        } catch (const std::exception& e) {
            spdlog::error("upnp: cannot serve media on {}: {}", n->address, e.what());
            return "";
        }
    };
    p->connect();
    gupnp_root_device_set_available(root, TRUE);
}

void LanExport::open_media(const std::string& uri, std::optional<relay::RangeSpec> range,
                           controller::RangeServer::OpenHandler done) {
    auto parsed = TransferUri::parse(uri);
    if (!parsed || !servers_.count(parsed->device.str()))  // answered later, as the server expects
        return boost::asio::post(io_, [done] { done(Error{"item-not-found", "not an item of a server shown here"}); });
    remote_->open_range(*parsed, range, std::move(done));
}

}  // namespace xpmn::upnp
