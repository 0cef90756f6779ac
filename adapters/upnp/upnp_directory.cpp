#include "adapters/upnp/upnp_directory.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "adapters/upnp/container_update_ids.hpp"
#include "mappings/didl/didl_parser.hpp"
#include "mappings/didl/metadata_xml.hpp"

namespace xpmn::upnp {

using profiles::DirectoryCallback;
using profiles::DirectoryError;

namespace {

// UPnP property searched for each term of the wire profile.
const char* upnp_property(const std::string& key) {
    if (key == "title") return "dc:title";
    if (key == "artist") return "upnp:artist";
    if (key == "album") return "upnp:album";
    if (key == "genre") return "upnp:genre";
    if (key == "creator") return "dc:creator";
    if (key == "class") return "upnp:class";
    return nullptr;
}

// Quoted string per the UPnP ContentDirectory search grammar: \" and \\ escaped.
std::string quoted(const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool contains_ci(const std::string& hay, const std::string& needle) {
    return lower(hay).find(lower(needle)) != std::string::npos;
}

// Whether a mapped item matches every term (AND; substring, case-insensitive; class exact).
bool matches(const mappings::MediaObject& o, const profiles::SearchRequest& r) {
    if (o.is_container) return false;
    for (const auto& [k, v] : r.terms) {
        const std::string* field = k == "title"    ? &o.title
                                   : k == "artist" ? &o.artist
                                   : k == "album"  ? &o.album
                                   : k == "genre"  ? &o.genre
                                   : k == "creator" ? &o.creator
                                                    : nullptr;
        if (k == "class") {
            if (o.cls != v) return false;
        } else if (!field || !contains_ci(*field, v)) {
            return false;
        }
    }
    return true;
}

// A result stays well under the 256 KiB stanza limit of peers and servers:
// children beyond this budget are left for the next page (`returned` says
// how many came).
constexpr std::size_t kMaxResultBytes = 192 * 1024;

// Adds mapped children while the result stays within the budget; returns how many.
std::uint32_t add_children(xml::Element& result, const std::vector<mappings::MediaObject>& objects,
                           std::size_t first, std::uint32_t max, mappings::TransferTable& transfers,
                           const std::string& jid) {
    std::size_t bytes = result.to_string().size();
    std::uint32_t added = 0;
    for (std::size_t i = first; i < objects.size() && added < max; ++i) {
        xml::Element child = mappings::to_metadata(objects[i], transfers, jid, true);
        bytes += child.to_string().size();
        if (bytes > kMaxResultBytes && added > 0) break;
        result.add_child(std::move(child));
        ++added;
    }
    return added;
}

// RequestedCount 0 means "everything" in UPnP; ask for one and drop it.
std::uint32_t upnp_count(std::uint32_t max) { return max == 0 ? 1 : max; }

}  // namespace

UpnpDirectory::UpnpDirectory(boost::asio::io_context& io, std::shared_ptr<ContentDirectoryService> cds,
                             std::string device_jid, DirectoryOptions options)
    : cds_(std::move(cds)),
      jid_(std::move(device_jid)),
      limits_(options.search),
      poller_(std::make_shared<ChangePoller>(io, cds_, options.watch_poll_interval)) {}

void UpnpDirectory::gone() {
    gone_ = true;
    poller_->watch({}, nullptr);
    cds_->set_change_callback(nullptr);
    gena_.reset();
    cds_->cancel_all();
}

xml::Element UpnpDirectory::page_result(xml::Element result, const CdsResult& page, std::uint32_t start,
                                        std::uint32_t max) {
    auto parsed = mappings::parse_didl(page.didl);
    for (const auto& w : parsed.warnings) spdlog::debug("didl {}: {}", jid_, w);
    if (!parsed.ok) spdlog::warn("didl {}: {}", jid_, parsed.error);
    std::uint32_t returned = add_children(result, parsed.objects, 0, max, transfers_, jid_);
    result.set_attr("start", std::to_string(start));
    result.set_attr("returned", std::to_string(returned));
    result.set_attr("total", std::to_string(page.total));
    result.set_attr("update-id", std::to_string(page.update_id));
    return result;
}

// What GENA has told. A SystemUpdateID is news when it differs from the last
// one known from GENA or polling (the poller keeps it). ContainerUpdateIDs
// values are news when they differ from the last known for that container;
// the first event after subscribing is the server's state, not a change.
struct UpnpDirectory::GenaWatch {
    static constexpr std::size_t kMaxKnown = 10000;
    ChangeListener listener;
    bool container_ids_seen = false;
    std::map<std::string, std::uint32_t> known;  // container → last ContainerUpdateID
};

void UpnpDirectory::watch(const std::set<std::string>& containers, ChangeListener listener) {
    if (containers.empty() || !listener || gone_) {
        poller_->watch({}, nullptr);
        cds_->set_change_callback(nullptr);
        gena_.reset();
        return;
    }
    // Events where the server sends them, polling for the many that do not.
    poller_->watch(containers, listener);
    if (gena_) {
        gena_->listener = std::move(listener);
        return;
    }
    gena_ = std::make_shared<GenaWatch>();
    gena_->listener = std::move(listener);
    cds_->set_change_callback([gena = gena_, weak = std::weak_ptr<ChangePoller>(poller_)](
                                  std::optional<std::uint32_t> system, const std::string& containers) {
        auto listener = gena->listener;  // the listener may replace gena->listener
        if (system) {
            auto poller = weak.lock();
            if (poller && poller->offer_system_update_id(*system)) listener("*", *system);
            return;
        }
        // Not every server sends ContainerUpdateIDs: minidlna does not.
        bool initial = !std::exchange(gena->container_ids_seen, true);
        if (gena->known.size() > GenaWatch::kMaxKnown) gena->known.clear();
        for (const auto& [id, update] : parse_container_update_ids(containers)) {
            auto [it, fresh] = gena->known.try_emplace(id, update);
            bool news = fresh ? !initial : it->second != update;
            it->second = update;
            if (news) listener(id, update);
        }
    });
}

DirectoryError UpnpDirectory::error_for(const CdsError& e) const {
    switch (e.kind) {
        case CdsError::Kind::NoSuchObject: return {"item-not-found", "no such object on the media server"};
        case CdsError::Kind::Timeout: return {"remote-server-timeout", "the media server did not answer in 10 s"};
        case CdsError::Kind::Unreachable: return {"remote-server-not-found", "the media server cannot be reached"};
        case CdsError::Kind::Failed: break;
    }
    return {"undefined-condition", "the media server failed: " + e.message};
}

void UpnpDirectory::browse(const profiles::BrowseRequest& req, DirectoryCallback done) {
    if (gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
    std::weak_ptr<UpnpDirectory> weak = weak_from_this();
    cds_->browse(req.id, true, 0, 0, [weak, req, done](const CdsReply<CdsResult>& meta) {
        auto self = weak.lock();
        if (!self || self->gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
        if (!meta.ok()) return done(self->error_for(meta.error));
        auto parsed = mappings::parse_didl(meta.value->didl);
        for (const auto& w : parsed.warnings) spdlog::debug("didl {}: {}", self->jid_, w);
        if (!parsed.ok) {
            spdlog::warn("didl {}: metadata of '{}': {}", self->jid_, req.id, parsed.error);
            return done(DirectoryError{"undefined-condition", "the media server sent unreadable DIDL-Lite for '" +
                                                                  req.id + "': " + parsed.error});
        }
        if (parsed.objects.empty())
            return done(DirectoryError{"item-not-found", "the media server has no object '" + req.id + "'"});
        mappings::MediaObject self_obj = parsed.objects.front();
        if (!self_obj.is_container)
            return done(DirectoryError{"bad-request", "'" + req.id + "' is an item, not a container"});
        self->cds_->browse(req.id, false, req.start, upnp_count(req.max),
                           [weak, req, done, self_obj](const CdsReply<CdsResult>& page) {
                               auto self = weak.lock();
                               if (!self || self->gone_)
                                   return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
                               if (!page.ok()) return done(self->error_for(page.error));
                               xml::Element c = mappings::to_metadata(self_obj, self->transfers_, self->jid_, true);
                               c.remove_children("uri");
                               done(self->page_result(std::move(c), *page.value, req.start, req.max));
                           });
    });
}

std::optional<std::string> UpnpDirectory::search_criteria(const profiles::SearchRequest& r,
                                                          const std::string& capabilities) {
    std::set<std::string> caps;
    std::size_t pos = 0;
    while (pos <= capabilities.size()) {
        auto comma = capabilities.find(',', pos);
        std::string p = capabilities.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        p.erase(0, p.find_first_not_of(" \t"));
        p.erase(p.find_last_not_of(" \t") + 1);
        if (!p.empty()) caps.insert(p);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    bool all = caps.count("*") > 0;
    std::string criteria;
    for (const auto& [k, v] : r.terms) {
        const char* prop = upnp_property(k);
        if (!prop || (!all && !caps.count(prop))) return std::nullopt;
        std::string clause;
        if (k == "class") {
            if (v == "other") return std::nullopt;  // "none of the others" has no UPnP expression
            std::string upnp_class = v == "audio" ? "object.item.audioItem"
                                     : v == "video" ? "object.item.videoItem"
                                                    : "object.item.imageItem";
            clause = std::string(prop) + " derivedfrom " + quoted(upnp_class);
        } else {
            clause = std::string(prop) + " contains " + quoted(v);
        }
        criteria += (criteria.empty() ? "" : " and ") + clause;
    }
    // Items only: a container whose title matches is not a search hit here.
    if (r.terms.end() == std::find_if(r.terms.begin(), r.terms.end(), [](auto& t) { return t.first == "class"; })) {
        if (!all && !caps.count("upnp:class")) return std::nullopt;
        criteria += " and upnp:class derivedfrom \"object.item\"";
    }
    return criteria;
}

void UpnpDirectory::search(const profiles::SearchRequest& req, DirectoryCallback done) {
    if (gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
    auto go = [req, done](std::shared_ptr<UpnpDirectory> self) {
        auto criteria = search_criteria(req, *self->capabilities_);
        if (criteria)
            self->search_on_server(req, *criteria, done);
        else
            self->search_by_browsing(req, done);
    };
    if (capabilities_) return go(shared_from_this());
    std::weak_ptr<UpnpDirectory> weak = weak_from_this();
    cds_->search_capabilities([weak, go, done](const CdsReply<std::string>& caps) {
        auto self = weak.lock();
        if (!self || self->gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
        self->capabilities_ = caps.ok() ? *caps.value : std::string();
        spdlog::info("upnp {}: search capabilities '{}'", self->jid_, *self->capabilities_);
        go(self);
    });
}

void UpnpDirectory::search_on_server(const profiles::SearchRequest& req, const std::string& criteria,
                                     DirectoryCallback done) {
    std::weak_ptr<UpnpDirectory> weak = weak_from_this();
    cds_->search(req.container, criteria, req.start, upnp_count(req.max),
                 [weak, req, done](const CdsReply<CdsResult>& page) {
                     auto self = weak.lock();
                     if (!self || self->gone_)
                         return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
                     if (!page.ok()) return done(self->error_for(page.error));
                     done(self->page_result(xml::Element("container", profiles::ns_metadata), *page.value, req.start,
                                            req.max));
                 });
}

// A breadth-first walk over containers, bounded in depth and objects, that
// keeps the items matching the terms. The call in flight owns the walk (its
// callback holds the only reference): when that call ends or is dropped, the
// walk answers or is freed with it, whatever happened to the directory.
struct UpnpDirectory::Walk : std::enable_shared_from_this<Walk> {
    std::weak_ptr<UpnpDirectory> directory;
    profiles::SearchRequest request;
    DirectoryCallback done;
    std::deque<std::pair<std::string, int>> pending;  // (container id, depth)
    std::string current;
    int depth = 0;
    std::uint32_t offset = 0;
    int seen = 0;
    bool truncated = false;
    std::vector<mappings::MediaObject> hits;

    void step();
    void on_page(UpnpDirectory& self, const CdsReply<CdsResult>& page);
    void answer(UpnpDirectory& self);
    void finish(profiles::DirectoryResult result) {
        if (auto d = std::exchange(done, nullptr)) d(std::move(result));
    }
};

void UpnpDirectory::search_by_browsing(const profiles::SearchRequest& req, DirectoryCallback done) {
    auto walk = std::make_shared<Walk>();
    walk->directory = weak_from_this();
    walk->request = req;
    walk->done = std::move(done);
    walk->pending.emplace_back(req.container, 0);
    walk->step();
}

// Asks for the next page of the current container, or answers.
void UpnpDirectory::Walk::step() {
    auto self = directory.lock();
    if (!self || self->gone_)
        return finish(DirectoryError{"remote-server-not-found", "the media server is gone"});
    if (current.empty()) {
        if (pending.empty() || seen >= self->limits_.max_objects) {
            if (!pending.empty()) truncated = true;
            return answer(*self);
        }
        std::tie(current, depth) = pending.front();
        pending.pop_front();
        offset = 0;
    }
    constexpr std::uint32_t kPage = 200;
    self->cds_->browse(current, false, offset, kPage, [walk = shared_from_this()](const CdsReply<CdsResult>& page) {
        auto self = walk->directory.lock();
        if (!self || self->gone_)
            return walk->finish(DirectoryError{"remote-server-not-found", "the media server is gone"});
        walk->on_page(*self, page);
    });
}

void UpnpDirectory::Walk::on_page(UpnpDirectory& self, const CdsReply<CdsResult>& page) {
    if (!page.ok()) {
        if (current == request.container) return finish(self.error_for(page.error));
        spdlog::debug("upnp {}: skipping {} in search: {}", self.jid_, current, page.error.message);
        current.clear();
        return step();
    }
    auto parsed = mappings::parse_didl(page.value->didl);
    for (const auto& o : parsed.objects) {
        if (++seen > self.limits_.max_objects) {
            truncated = true;
            break;
        }
        if (o.is_container) {
            if (depth + 1 < self.limits_.max_depth)
                pending.emplace_back(o.id, depth + 1);
            else
                truncated = true;
        } else if (matches(o, request)) {
            hits.push_back(o);
        }
    }
    offset += page.value->returned;
    bool more = page.value->returned > 0 && offset < page.value->total && !truncated;
    if (!more) current.clear();
    step();
}

void UpnpDirectory::Walk::answer(UpnpDirectory& self) {
    if (truncated) spdlog::warn("upnp {}: search by browsing stopped at the depth/object limit", self.jid_);
    xml::Element c("container", profiles::ns_metadata);
    const auto& r = request;
    std::uint32_t returned =
        r.start < hits.size() ? add_children(c, hits, r.start, r.max, self.transfers_, self.jid_) : 0;
    c.set_attr("start", std::to_string(r.start));
    c.set_attr("returned", std::to_string(returned));
    c.set_attr("total", std::to_string(hits.size()));
    finish(std::move(c));
}

}  // namespace xpmn::upnp
