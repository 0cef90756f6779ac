// ContentDirectory Browse of another bridge's media server shown on the LAN
// (adapters/upnp/lan_export), answered from its Directory profile (wire
// profile §5): BrowseDirectChildren is one <browse/> of that page,
// BrowseMetadata of a container a <browse max='0'/> of it (its title, parent
// and child count), of an item what the last listings said of it (a bounded
// cache: control points list a container before they ask about its items;
// an item not listed lately is "No such object").
// The DIDL-Lite carries HTTP URLs, made by the caller per network, for the
// items' transfer URIs. No gupnp here: the caller returns the answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "mappings/didl/didl_writer.hpp"
#include "xmpp/core/result.hpp"
#include "xmpp/xml/element.hpp"

namespace xpmn::upnp {

struct BrowseArgs {
    std::string object_id;
    bool metadata = false;  // BrowseFlag BrowseMetadata (else BrowseDirectChildren)
    std::uint32_t start = 0;
    std::uint32_t count = 0;  // 0: as many as one answer holds
};

struct SearchArgs {
    std::string container_id;
    std::string criteria;  // UPnP SearchCriteria (adapters/upnp/search_criteria)
    std::uint32_t start = 0;
    std::uint32_t count = 0;
};

// The answer of a Browse or a Search.
struct BrowseAnswer {
    std::string didl;
    std::uint32_t returned = 0, total = 0, update_id = 0;
};

// A failed action: the UPnP error code and its description.
struct ActionError {
    int code = 501;
    std::string text;
};
// The ContentDirectory error for a Directory profile error: unknown id →
// 701, criteria the profile cannot express → 708, bad-request → 720,
// anything else (unreachable, timeout, refused) → 501.
ActionError action_error_for(const Error& e);

class ExportedDirectory : public std::enable_shared_from_this<ExportedDirectory> {
public:
    static constexpr std::uint32_t kMaxPage = 1000;     // the profile's cap on `max`
    static constexpr std::size_t kMaxId = 1024;          // the profile's longest object id (longer: no such object)
    static constexpr std::size_t kMaxRemembered = 4096;  // objects kept for BrowseMetadata …
    static constexpr std::size_t kMaxRememberedBytes = 4 * 1024 * 1024;  // … and their bytes at most

    // One Directory request (<browse/>) to the server → its <container/>.
    using Request = std::function<void(xml::Element payload, std::function<void(Result<xml::Element>)> done)>;

    // Made with std::make_shared (answers may come after its owner let it go).
    ExportedDirectory(std::string root_title, Request request)
        : root_title_(std::move(root_title)), request_(std::move(request)) {}

    void browse(const BrowseArgs& args, mappings::UrlForUri url_for,
                std::function<void(Result<BrowseAnswer>)> done);
    // One <search/> of that page; its hits are remembered like listed objects.
    void search(const SearchArgs& args, mappings::UrlForUri url_for, std::function<void(Result<BrowseAnswer>)> done);
    // The newest update-id the server gave (GetSystemUpdateID).
    std::uint32_t system_update_id() const { return system_update_id_; }
    std::size_t remembered() const { return remembered_.size(); }
    std::size_t remembered_bytes() const { return remembered_bytes_; }
    // Told when system_update_id() grows (GENA: SystemUpdateID); nullptr: nobody.
    void on_update_id(std::function<void(std::uint32_t)> listener) { update_listener_ = std::move(listener); }

private:
    void remember(const xml::Element& container);
    // A page of children (browse or search) as the action's answer.
    BrowseAnswer page(const xml::Element& container, const std::string& parent, const mappings::UrlForUri& url_for);
    void note_update_id(const xml::Element& container);

    std::string root_title_;
    Request request_;
    struct Remembered {
        xml::Element object;  // with its parent
        std::size_t bytes;    // its serialized size
    };
    std::map<std::string, Remembered> remembered_;  // by object id
    std::deque<std::string> order_;                 // oldest first
    std::size_t remembered_bytes_ = 0;
    std::uint32_t system_update_id_ = 0;
    std::function<void(std::uint32_t)> update_listener_;
};

}  // namespace xpmn::upnp
