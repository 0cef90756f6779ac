// UpnpDirectory::PageFill: one result page from a server's paged answers
// (BrowseDirectChildren or Search), fetched in chunks sized to what the
// result's size budget can still hold, so the work follows the delivered
// page: `max='1000'` of ~450-byte children asks the server for ~490, not for
// 1000 that would mostly be parsed and dropped. The chunk size comes from the
// directory's running estimate of one child's serialized size; a chunk that
// leaves room (and children) is followed by the next. The call in flight owns
// the fill, as with the walk.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/upnp/result_budget.hpp"
#include "adapters/upnp/upnp_directory.hpp"

namespace xpmn::upnp {

using profiles::DirectoryError;

struct UpnpDirectory::PageFill : std::enable_shared_from_this<PageFill> {
    std::weak_ptr<UpnpDirectory> directory;
    Fetch fetch;
    Check check;                  // may be empty
    std::function<void()> rejected;  // check failed
    profiles::DirectoryCallback done;
    xml::Element result;
    std::size_t bytes = 0;         // result serialized so far
    std::size_t children_bytes = 0;
    std::uint32_t start = 0, max = 0, added = 0;
    std::uint32_t next = 0;        // the server's index of the next chunk
    std::uint32_t total = 0, update_id = 0;
    bool first = true;

    std::uint32_t chunk(std::size_t estimate) const {
        if (max == 0) return 1;  // RequestedCount 0 means "everything" in UPnP; ask for one and drop it
        std::size_t room = bytes < kMaxResultBytes ? kMaxResultBytes - bytes : 0;
        std::size_t n = room / std::max<std::size_t>(estimate, 1);
        n += n / 8 + 4;  // estimates vary: a little more rather than a second round trip
        return static_cast<std::uint32_t>(std::clamp<std::size_t>(n, 1, max - added));
    }

    void step() {
        auto self = directory.lock();
        if (!self || self->gone_) return finish(DirectoryError{"remote-server-not-found", "the media server is gone"});
        fetch(next, chunk(self->child_bytes_), [fill = shared_from_this()](const Result<CdsResult>& page) {
            auto self = fill->directory.lock();
            if (!self || self->gone_)
                return fill->finish(DirectoryError{"remote-server-not-found", "the media server is gone"});
            fill->on_chunk(*self, page);
        });
    }

    void on_chunk(UpnpDirectory& self, const Result<CdsResult>& page) {
        if (!page.ok()) return finish(page.error());
        auto objects = self.objects_of(page.value());
        if (check && !check(objects)) return std::exchange(rejected, nullptr)();
        if (std::exchange(first, false)) update_id = page->update_id;
        total = page->total;
        std::size_t before = bytes;
        std::uint32_t n = add_children(result, objects, 0, max - added, self.transfers_, self.jid_, bytes, added);
        added += n;
        children_bytes += bytes - before;
        if (added > 0) self.child_bytes_ = children_bytes / added;
        next += page->returned;
        bool full = n < std::min<std::size_t>(objects.size(), max - (added - n));
        if (full || added >= max || page->returned == 0 || next >= total) return answer();
        step();
    }

    void answer() {
        result.set_attr("start", std::to_string(start));
        result.set_attr("returned", std::to_string(added));
        result.set_attr("total", std::to_string(total));
        result.set_attr("update-id", std::to_string(update_id));
        finish(std::move(result));
    }

    void finish(profiles::DirectoryResult r) {
        if (auto d = std::exchange(done, nullptr)) d(std::move(r));
    }
};

void UpnpDirectory::fill_page(xml::Element result, std::uint32_t start, std::uint32_t max, Fetch fetch, Check check,
                              std::function<void()> rejected, profiles::DirectoryCallback done) {
    auto fill = std::make_shared<PageFill>();
    fill->directory = weak_from_this();
    fill->fetch = std::move(fetch);
    fill->check = std::move(check);
    fill->rejected = std::move(rejected);
    fill->done = std::move(done);
    fill->bytes = result.to_string().size();
    fill->result = std::move(result);
    fill->start = fill->next = start;
    fill->max = max;
    fill->step();
}

}  // namespace xpmn::upnp
