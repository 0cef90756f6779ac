#include "adapters/upnp/upnp_directory.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "adapters/upnp/container_update_ids.hpp"
#include "adapters/upnp/result_budget.hpp"
#include "adapters/upnp/search_plan.hpp"
#include "mappings/didl/didl_parser.hpp"
#include "mappings/didl/metadata_xml.hpp"

namespace xpmn::upnp {

using profiles::DirectoryCallback;
using profiles::DirectoryError;

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

std::vector<mappings::MediaObject> UpnpDirectory::objects_of(const CdsResult& page) const {
    auto parsed = mappings::parse_didl(page.didl);
    if (!parsed) {
        spdlog::warn("didl {}: {}", jid_, parsed.error().text);
        return {};
    }
    for (const auto& w : parsed->warnings) spdlog::debug("didl {}: {}", jid_, w);
    return std::move(parsed->objects);
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

void UpnpDirectory::browse(const profiles::BrowseRequest& req, DirectoryCallback done) {
    if (gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
    std::weak_ptr<UpnpDirectory> weak = weak_from_this();
    cds_->browse(req.id, true, 0, 0, [weak, req, done](const Result<CdsResult>& meta) {
        auto self = weak.lock();
        if (!self || self->gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
        if (!meta.ok()) return done(meta.error());
        auto parsed = mappings::parse_didl(meta->didl);
        if (!parsed) {
            spdlog::warn("didl {}: metadata of '{}': {}", self->jid_, req.id, parsed.error().text);
            return done(DirectoryError{"undefined-condition", "the media server sent unreadable DIDL-Lite for '" +
                                                                  req.id + "': " + parsed.error().text});
        }
        for (const auto& w : parsed->warnings) spdlog::debug("didl {}: {}", self->jid_, w);
        if (parsed->objects.empty())
            return done(DirectoryError{"item-not-found", "the media server has no object '" + req.id + "'"});
        mappings::MediaObject self_obj = parsed->objects.front();
        if (!self_obj.is_container)
            return done(DirectoryError{"bad-request", "'" + req.id + "' is an item, not a container"});
        xml::Element c = mappings::to_metadata(self_obj, self->transfers_, self->jid_, true);
        c.remove_children("uri");
        auto fetch = [cds = self->cds_, id = req.id](std::uint32_t start, std::uint32_t count,
                                                      ContentDirectoryService::BrowseCallback cb) {
            cds->browse(id, false, start, count, std::move(cb));
        };
        self->fill_page(std::move(c), req.start, req.max, fetch, nullptr, nullptr, done);
    });
}

void UpnpDirectory::parent_of(const std::string& id, std::function<void(Result<std::string>)> done) {
    if (gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
    cds_->browse(id, true, 0, 0, [id, done](const Result<CdsResult>& meta) {
        if (!meta.ok()) return done(meta.error());
        auto parsed = mappings::parse_didl(meta->didl);
        if (!parsed || parsed->objects.empty())
            return done(DirectoryError{"item-not-found", "the media server has no object '" + id + "'"});
        done(parsed->objects.front().parent_id);
    });
}

void UpnpDirectory::item_of(const std::string& id, DirectoryCallback done) {
    if (gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
    std::weak_ptr<UpnpDirectory> weak = weak_from_this();
    cds_->browse(id, true, 0, 0, [weak, id, done](const Result<CdsResult>& meta) {
        auto self = weak.lock();
        if (!self || self->gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
        if (!meta.ok()) return done(meta.error());
        auto parsed = mappings::parse_didl(meta->didl);
        if (!parsed || parsed->objects.empty() || parsed->objects.front().is_container)
            return done(DirectoryError{"item-not-found", "the media server has no item '" + id + "'"});
        done(mappings::to_metadata(parsed->objects.front(), self->transfers_, self->jid_, true));
    });
}

void UpnpDirectory::search(const profiles::SearchRequest& req, DirectoryCallback done) {
    if (gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
    auto go = [req, done](std::shared_ptr<UpnpDirectory> self) {
        auto plan = plan_search(req, *self->capabilities_);
        if (plan && plan->exact)
            self->search_on_server(req, plan->criteria, done);
        else
            self->collect(req, plan ? std::optional<std::string>(plan->criteria) : std::nullopt, done);
    };
    if (capabilities_) return go(shared_from_this());
    std::weak_ptr<UpnpDirectory> weak = weak_from_this();
    cds_->search_capabilities([weak, go, done](const Result<std::string>& caps) {
        auto self = weak.lock();
        if (!self || self->gone_) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
        self->capabilities_ = caps.ok() ? caps.value() : std::string();
        spdlog::info("upnp {}: search capabilities '{}'", self->jid_, *self->capabilities_);
        go(self);
    });
}

void UpnpDirectory::search_on_server(const profiles::SearchRequest& req, const std::string& criteria,
                                     DirectoryCallback done) {
    auto fetch = [cds = cds_, req, criteria](std::uint32_t start, std::uint32_t count,
                                             ContentDirectoryService::BrowseCallback cb) {
        cds->search(req.container, criteria, start, count, std::move(cb));
    };
    // A hit that does not match makes the server's totals and positions
    // wrong for us: then all hits are collected and filtered here.
    auto check = [matcher = SearchMatcher(req)](const std::vector<mappings::MediaObject>& objects) {
        return std::all_of(objects.begin(), objects.end(), matcher);
    };
    auto rejected = [weak = weak_from_this(), req, criteria, done] {
        auto self = weak.lock();
        if (!self) return done(DirectoryError{"remote-server-not-found", "the media server is gone"});
        spdlog::debug("upnp {}: the server's search has hits that do not match; filtering", self->jid_);
        self->collect(req, criteria, done);
    };
    fill_page(xml::Element("container", profiles::ns_metadata), req.start, req.max, fetch, check, rejected, done);
}

// Every hit of a search, filtered here and paged from the bridge's own list:
// either the server's Search with the plan's criteria, page after page, or
// (no criteria) a breadth-first walk over containers. Bounded in depth and
// objects. The call in flight owns the walk (its callback holds the only
// reference): when that call ends or is dropped, the walk answers or is freed
// with it, whatever happened to the directory.
struct UpnpDirectory::Walk : std::enable_shared_from_this<Walk> {
    Walk(const profiles::SearchRequest& r) : request(r), matcher(r) {}
    std::weak_ptr<UpnpDirectory> directory;
    profiles::SearchRequest request;
    SearchMatcher matcher;
    std::optional<std::string> criteria;  // the server's Search, else walk
    DirectoryCallback done;
    std::deque<std::pair<std::string, int>> pending;  // (container id, depth)
    std::string current;
    int depth = 0;
    std::uint32_t offset = 0;
    int seen = 0;
    bool truncated = false;
    std::vector<mappings::MediaObject> hits;

    void step();
    void on_page(UpnpDirectory& self, const Result<CdsResult>& page);
    void answer(UpnpDirectory& self);
    void finish(profiles::DirectoryResult result) {
        if (auto d = std::exchange(done, nullptr)) d(std::move(result));
    }
};

void UpnpDirectory::collect(const profiles::SearchRequest& req, std::optional<std::string> criteria,
                            DirectoryCallback done) {
    auto walk = std::make_shared<Walk>(req);
    walk->directory = weak_from_this();
    walk->criteria = std::move(criteria);
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
    auto next = [walk = shared_from_this()](const Result<CdsResult>& page) {
        auto self = walk->directory.lock();
        if (!self || self->gone_)
            return walk->finish(DirectoryError{"remote-server-not-found", "the media server is gone"});
        walk->on_page(*self, page);
    };
    if (criteria)
        self->cds_->search(current, *criteria, offset, kPage, std::move(next));
    else
        self->cds_->browse(current, false, offset, kPage, std::move(next));
}

void UpnpDirectory::Walk::on_page(UpnpDirectory& self, const Result<CdsResult>& page) {
    if (!page.ok()) {
        if (current == request.container) return finish(page.error());
        spdlog::debug("upnp {}: skipping {} in search: {}", self.jid_, current, page.error().describe());
        current.clear();
        return step();
    }
    for (const auto& o : self.objects_of(*page)) {
        if (++seen > self.limits_.max_objects) {
            truncated = true;
            break;
        }
        if (o.is_container) {
            if (criteria) continue;  // a search result: nothing to go into
            if (depth + 1 < self.limits_.max_depth)
                pending.emplace_back(o.id, depth + 1);
            else
                truncated = true;
        } else if (matcher(o)) {
            hits.push_back(o);
        }
    }
    offset += page->returned;
    bool more = page->returned > 0 && offset < page->total && !truncated;
    if (!more) current.clear();
    step();
}

void UpnpDirectory::Walk::answer(UpnpDirectory& self) {
    if (truncated) spdlog::warn("upnp {}: search stopped at the depth/object limit", self.jid_);
    xml::Element c("container", profiles::ns_metadata);
    const auto& r = request;
    std::size_t bytes = c.to_string().size();
    std::uint32_t returned =
        r.start < hits.size() ? add_children(c, hits, r.start, r.max, self.transfers_, self.jid_, bytes) : 0;
    c.set_attr("start", std::to_string(r.start));
    c.set_attr("returned", std::to_string(returned));
    c.set_attr("total", std::to_string(hits.size()));
    finish(std::move(c));
}

}  // namespace xpmn::upnp
