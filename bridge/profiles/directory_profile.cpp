#include "bridge/profiles/directory_profile.hpp"

#include <charconv>
#include <set>

#include "bridge/profiles/directory_watch.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::profiles {

namespace {

// Reads an optional non-negative 32-bit attribute; false when present but invalid.
bool read_u32(const xml::Element& e, std::string_view name, std::uint32_t& out) {
    auto v = e.attr(name);
    if (!v) return true;
    std::uint32_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || v->empty()) return false;
    out = n;
    return true;
}

std::string read_paging(const xml::Element& e, std::uint32_t& start, std::uint32_t& max) {
    if (!read_u32(e, "start", start)) return "start must be a non-negative integer";
    if (!read_u32(e, "max", max)) return "max must be a non-negative integer";
    if (max > kMaxMax) max = kMaxMax;
    return {};
}

const std::set<std::string>& search_keys() {
    static const std::set<std::string> keys{"title", "artist", "album", "genre", "creator", "class"};
    return keys;
}

}  // namespace

std::variant<BrowseRequest, std::string> parse_browse(const xml::Element& e) {
    BrowseRequest r;
    r.id = e.attr_or("id", "0");
    if (r.id.empty() || r.id.size() > kMaxIdLength) return std::string("id must have 1 to 1024 characters");
    if (auto err = read_paging(e, r.start, r.max); !err.empty()) return err;
    std::string sub = e.attr_or("subscribe", "false");
    if (sub != "true" && sub != "false" && sub != "1" && sub != "0") return std::string("subscribe must be true or false");
    r.subscribe = sub == "true" || sub == "1";
    return r;
}

std::variant<SearchRequest, std::string> parse_search(const xml::Element& e) {
    SearchRequest r;
    r.container = e.attr_or("container", "0");
    if (r.container.empty() || r.container.size() > kMaxIdLength)
        return std::string("container must have 1 to 1024 characters");
    if (auto err = read_paging(e, r.start, r.max); !err.empty()) return err;
    for (const auto* t : e.elements()) {
        if (t->ns() != ns_server || !search_keys().count(t->name()))
            return "unknown search term <" + t->name() + "/> (title, artist, album, genre, creator, class)";
        std::string v = t->text();
        if (v.empty() || v.size() > kMaxTermLength) return "search term " + t->name() + " must have 1 to 256 characters";
        if (t->name() == "class" && v != "audio" && v != "video" && v != "image" && v != "other")
            return std::string("class is one of audio, video, image, other");
        r.terms.emplace_back(t->name(), std::move(v));
    }
    if (r.terms.size() > kMaxTerms) return std::string("at most 16 search terms");
    if (r.terms.empty()) return std::string("a search needs at least one term");
    return r;
}

namespace {

void answer(client::IqResponder& responder, DirectoryResult result) {
    if (auto* c = std::get_if<xml::Element>(&result))
        responder.result(std::move(*c));
    else {
        const auto& err = std::get<DirectoryError>(result);
        responder.error(err.condition, err.text);
    }
}

}  // namespace

void install_directory_profile(boost::asio::io_context& io, bridge::Device& device,
                               std::shared_ptr<MediaDirectory> directory,
                               std::shared_ptr<const bridge::AccessPolicy> access) {
    device.add_feature(ns_server);
    std::weak_ptr<MediaDirectory> weak = directory;
    auto watch = std::make_shared<DirectoryWatch>(io);
    device.on_session([watch](const std::shared_ptr<client::C2sSession>& s) { watch->attach(s); });
    // The directory watches its source (GENA, polling) only while someone watches.
    watch->on_watched_changed([weak, w = std::weak_ptr<DirectoryWatch>(watch)] {
        auto dir = weak.lock();
        auto watch = w.lock();
        if (!dir || !watch) return;
        dir->watch(watch->containers(), [w](const std::string& id, std::uint32_t update) {
            if (auto watch = w.lock()) watch->changed(id, update);
        });
    });
    device.handle("get", ns_server, "browse", [weak, access, watch](const xml::Element& iq, client::IqResponder r) {
        std::string from = iq.attr_or("from");
        if (auto denied = access->check({from})) return r.error(std::move(*denied));
        auto parsed = parse_browse(*iq.first_element());
        if (auto* why = std::get_if<std::string>(&parsed)) return r.error("bad-request", *why);
        auto dir = weak.lock();
        if (!dir) return r.error("remote-server-not-found", "the media server is gone");
        auto req = std::get<BrowseRequest>(parsed);
        dir->browse(req, [r, req, from, watch](DirectoryResult res) mutable {
            if (auto* c = std::get_if<xml::Element>(&res); c && req.subscribe) {
                auto node = watch->subscribe(from, req.id);
                if (!node) return r.error("resource-constraint", "too many watched containers");
                c->set_attr("node", *node);
            }
            answer(r, std::move(res));
        });
    });
    device.handle("get", ns_server, "search", [weak, access](const xml::Element& iq, client::IqResponder r) {
        if (auto denied = access->check({iq.attr_or("from")})) return r.error(std::move(*denied));
        auto parsed = parse_search(*iq.first_element());
        if (auto* why = std::get_if<std::string>(&parsed)) return r.error("bad-request", *why);
        auto dir = weak.lock();
        if (!dir) return r.error("remote-server-not-found", "the media server is gone");
        dir->search(std::get<SearchRequest>(parsed), [r](DirectoryResult res) mutable { answer(r, std::move(res)); });
    });
    device.handle("set", ns_pubsub, "pubsub", [access, watch](const xml::Element& iq, client::IqResponder r) {
        std::string from = iq.attr_or("from");
        if (auto denied = access->check({from})) return r.error(std::move(*denied));
        const auto* unsub = iq.first_element()->child("unsubscribe", ns_pubsub);
        if (!unsub) return r.error("feature-not-implemented", "only unsubscribe is supported here");
        if (!watch->unsubscribe(from, unsub->attr_or("node")))
            return r.error("item-not-found", "no such watch of yours");
        r.result();
    });
}

}  // namespace xpmn::profiles
