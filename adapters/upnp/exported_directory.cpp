#include "adapters/upnp/exported_directory.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "adapters/upnp/search_criteria.hpp"
#include "mappings/didl/didl_values.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::upnp {

namespace {

std::uint32_t u32_attr(const xml::Element& e, const char* name) {
    return mappings::parse_u32(e.attr_or(name, "0")).value_or(0);
}

// RequestedCount → the profile's max: 0 means as many as one answer holds.
std::uint32_t page_size(std::uint32_t count) {
    return count == 0 ? ExportedDirectory::kMaxPage : std::min(count, ExportedDirectory::kMaxPage);
}

// An id longer than the profile allows names nothing there.
std::optional<Error> bad_id(const std::string& id) {
    if (id.empty()) return Error{"item-not-found", "no object id"};
    if (id.size() > ExportedDirectory::kMaxId) return Error{"item-not-found", "an object id of over 1024 characters"};
    return std::nullopt;
}

xml::Element browse_request(const std::string& id, std::uint32_t start, std::uint32_t max) {
    xml::Element b("browse", ns::media_server);
    b.set_attr("id", id);
    b.set_attr("start", std::to_string(start));
    b.set_attr("max", std::to_string(max));
    return b;
}

}  // namespace

ActionError action_error_for(const Error& e) {
    if (e.condition == "item-not-found") return {701, "No such object"};
    if (e.condition == kCriteriaError) return {708, "Unsupported or invalid search criteria: " + e.text};
    if (e.condition == "bad-request") return {720, "Cannot process the request: " + e.describe()};
    return {501, "Action failed: " + e.describe()};
}

void ExportedDirectory::note_update_id(const xml::Element& container) {
    auto id = mappings::parse_u32(container.attr_or("update-id"));
    if (!id || *id <= system_update_id_) return;
    system_update_id_ = *id;
    if (update_listener_) update_listener_(*id);
}

void ExportedDirectory::remember(const xml::Element& container) {
    for (const auto* o : container.elements()) {
        if (o->name() != "item" && o->name() != "container") continue;
        const std::string id = o->attr_or("id");
        if (id.empty()) continue;
        const std::size_t bytes = o->to_string().size();
        if (bytes > kMaxRememberedBytes / 64) continue;  // one object never crowds out the others
        if (auto old = remembered_.find(id); old != remembered_.end()) {
            remembered_bytes_ -= old->second.bytes;
            remembered_.erase(old);
        } else {
            order_.push_back(id);
        }
        remembered_.emplace(id, Remembered{*o, bytes});
        remembered_bytes_ += bytes;
    }
    while (remembered_.size() > kMaxRemembered || remembered_bytes_ > kMaxRememberedBytes) {
        if (auto it = remembered_.find(order_.front()); it != remembered_.end()) {
            remembered_bytes_ -= it->second.bytes;
            remembered_.erase(it);
        }
        order_.pop_front();
    }
}

BrowseAnswer ExportedDirectory::page(const xml::Element& container, const std::string& parent,
                                     const mappings::UrlForUri& url_for) {
    note_update_id(container);
    remember(container);
    std::vector<const xml::Element*> children;
    for (const auto* o : container.elements())
        if (o->name() == "item" || o->name() == "container") children.push_back(o);
    BrowseAnswer a;
    a.didl = mappings::didl_for_objects(children, parent, url_for);
    a.returned = static_cast<std::uint32_t>(children.size());
    a.total = u32_attr(container, "total");
    a.update_id = u32_attr(container, "update-id");
    return a;
}

void ExportedDirectory::search(const SearchArgs& args, mappings::UrlForUri url_for,
                               std::function<void(Result<BrowseAnswer>)> done) {
    const std::string container = args.container_id.empty() ? "0" : args.container_id;
    if (auto e = bad_id(container)) return done(*e);
    auto request = search_request(args.criteria, container, args.start, page_size(args.count));
    if (!request) return done(request.error());
    request_(std::move(*request), [self = shared_from_this(), url_for, done](Result<xml::Element> r) {
        if (!r) return done(r.error());
        done(self->page(*r, "-1", url_for));  // hits carry their own parent
    });
}

void ExportedDirectory::browse(const BrowseArgs& args, mappings::UrlForUri url_for,
                               std::function<void(Result<BrowseAnswer>)> done) {
    if (auto e = bad_id(args.object_id)) return done(*e);
    if (!args.metadata) {
        return request_(browse_request(args.object_id, args.start, page_size(args.count)),
                        [self = shared_from_this(), id = args.object_id, url_for, done](Result<xml::Element> r) {
                            if (!r) return done(r.error());
                            done(self->page(*r, id, url_for));
                        });
    }
    // BrowseMetadata: one object, the answer's total is 1.
    if (auto it = remembered_.find(args.object_id); it != remembered_.end() && it->second.object.name() == "item") {
        BrowseAnswer a;
        a.didl = mappings::didl_for_objects({&it->second.object}, "-1", url_for);
        a.returned = a.total = 1;
        a.update_id = system_update_id_;
        return done(std::move(a));
    }
    request_(browse_request(args.object_id, 0, 0),
             [self = shared_from_this(), id = args.object_id, url_for, done](Result<xml::Element> r) {
                 // A browse of an item's id is bad-request (profile §5): an item not listed lately.
                 if (!r && r.error().condition == "bad-request")
                     return done(Error{"item-not-found", id + " is no container and was not listed lately"});
                 if (!r) return done(r.error());
                 self->note_update_id(*r);
                 xml::Element c("container", ns::media_metadata);
                 c.set_attr("id", id);
                 c.set_attr("parent", id == "0" ? "-1" : r->attr_or("parent", "-1"));
                 c.set_attr("child-count", r->attr_or("total", "0"));
                 std::string title = r->child_text("title");
                 c.add_text_child("title", id == "0" ? self->root_title_ : title.empty() ? id : title);
                 if (auto it = self->remembered_.find(id); it != self->remembered_.end())
                     if (auto cover = it->second.object.child_text("cover-album"); !cover.empty())
                         c.add_text_child("cover-album", cover);
                 BrowseAnswer a;
                 a.didl = mappings::didl_for_objects({&c}, "-1", url_for);
                 a.returned = a.total = 1;
                 a.update_id = u32_attr(*r, "update-id");
                 done(std::move(a));
             });
}

}  // namespace xpmn::upnp
