#include "bridge/profiles/directory_profile.hpp"

#include <charconv>
#include <set>

#include "bridge/profiles/directory_watch.hpp"
#include "bridge/profiles/large_result.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::profiles {

namespace {

Error bad_request(std::string text) { return {"bad-request", std::move(text)}; }

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

std::optional<Error> read_paging(const xml::Element& e, std::uint32_t& start, std::uint32_t& max) {
    if (!read_u32(e, "start", start)) return bad_request("start must be a non-negative integer");
    if (!read_u32(e, "max", max)) return bad_request("max must be a non-negative integer");
    if (max > kMaxMax) max = kMaxMax;
    return std::nullopt;
}

std::optional<Error> read_object_id(const xml::Element& e, std::string_view name, std::string& out) {
    auto v = e.attr(name);
    if (!v) return std::nullopt;
    if (v->empty() || char_count(*v) > kMaxIdLength)
        return bad_request(std::string(name) + " must have 1 to 1024 characters");
    out = std::string(*v);
    return std::nullopt;
}

const std::set<std::string>& text_keys() {
    static const std::set<std::string> keys{"title", "artist", "album", "genre", "creator"};
    return keys;
}

}  // namespace

std::size_t char_count(std::string_view utf8) {
    std::size_t n = 0;
    for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;  // continuation bytes do not start a character
    return n;
}

Result<BrowseRequest> parse_browse(const xml::Element& e) {
    BrowseRequest r;
    if (!e.attr("id")) return bad_request("browse needs an id (the root container is '0')");
    if (auto err = read_object_id(e, "id", r.id)) return *err;
    if (auto err = read_paging(e, r.start, r.max)) return *err;
    std::string sub = e.attr_or("subscribe", "false");
    if (sub != "true" && sub != "false" && sub != "1" && sub != "0") return bad_request("subscribe must be true or false");
    r.subscribe = sub == "true" || sub == "1";
    return r;
}

Result<SearchRequest> parse_search(const xml::Element& e) {
    SearchRequest r;
    if (auto err = read_object_id(e, "container", r.container)) return *err;
    if (auto err = read_paging(e, r.start, r.max)) return *err;
    for (const auto* t : e.elements()) {
        if (r.terms.size() == kMaxTerms) return bad_request("at most 16 search criteria");
        bool text_key = text_keys().count(t->name()) > 0;
        if (t->ns() != ns_server || (!text_key && t->name() != "class"))
            return bad_request("unknown search criterion <" + t->name() +
                               "/> (title, artist, album, genre, creator, class)");
        if (!t->elements().empty()) return bad_request("search criterion " + t->name() + " holds text only");
        std::string v = t->text();
        if (text_key && (v.empty() || char_count(v) > kMaxTermLength))
            return bad_request("search criterion " + t->name() + " must have 1 to 256 characters");
        if (!text_key && v != "audio" && v != "video" && v != "image" && v != "other")
            return bad_request("class is one of audio, video, image, other (exact, lowercase)");
        r.terms.emplace_back(t->name(), std::move(v));
    }
    if (r.terms.empty()) return bad_request("a search needs at least one criterion");
    return r;
}

namespace {

// Where a result goes: inline, or out of band when large (§5).
struct Delivery {
    boost::asio::io_context* io;
    std::weak_ptr<bridge::OobLinks> links;
    client::Peer peer;
};

void answer(const Delivery& d, client::IqResponder& responder, DirectoryResult result) {
    if (result.ok())
        answer_result(*d.io, d.links, d.peer, responder, std::move(result).value());
    else
        responder.error(result.error());
}

// A browse that may also subscribe the peer to the container's changes.
void browse_and_watch(const std::weak_ptr<MediaDirectory>& weak, const std::shared_ptr<DirectoryWatch>& watch,
                      const std::weak_ptr<client::PeerChannel>& weak_channel, const Delivery& delivery,
                      const BrowseRequest& req, client::IqResponder r) {
    auto dir = weak.lock();
    if (!dir) return r.error("remote-server-not-found", "the media server is gone");
    dir->browse(req, [r, req, delivery, watch, weak_channel](DirectoryResult res) mutable {
        const client::Peer& peer = delivery.peer;
        if (res.ok() && req.subscribe) {
            auto channel = weak_channel.lock();
            if (!channel || channel->closed())
                return r.error("service-unavailable", "the channel of this request has ended");
            auto node = watch->subscribe(channel, peer, req.id);
            if (!node) return r.error("resource-constraint", "too many watched containers");
            res->set_attr("node", *node);
        }
        answer(delivery, r, std::move(res));
    });
}

}  // namespace

void gate(const bridge::AccessPolicy& access, const std::weak_ptr<MediaDirectory>& directory,
          const std::string& device, const client::Peer& peer, const std::string& container,
          client::IqResponder r, std::function<void(client::IqResponder)> go) {
    bridge::AccessRequest request{device, security::Permission::Read, container};
    access.decide(peer, request,
                  [directory](const std::string& c, const std::string& g, std::function<void(bool)> done) {
                      container_within(directory, c, g, std::move(done));
                  },
                  [r, go = std::move(go)](std::optional<xml::Element> denied) mutable {
                      if (denied) return r.error(std::move(*denied));
                      go(std::move(r));
                  });
}

void container_within(std::weak_ptr<MediaDirectory> directory, const std::string& container,
                      const std::string& granted, std::function<void(bool)> done) {
    struct Climb : std::enable_shared_from_this<Climb> {
        std::weak_ptr<MediaDirectory> directory;
        std::string granted;
        std::function<void(bool)> done;
        int depth = 0;
        void step(const std::string& id) {
            if (id == granted) return done(true);
            auto dir = directory.lock();
            // "0" is the root; "-1" is what a root names as its parent.
            if (!dir || id.empty() || id == "0" || id == "-1" || ++depth > kMaxGrantDepth) return done(false);
            dir->parent_of(id, [self = shared_from_this()](Result<std::string> parent) {
                if (!parent) return self->done(false);
                self->step(*parent);
            });
        }
    };
    auto climb = std::make_shared<Climb>();
    climb->directory = std::move(directory);
    climb->granted = granted;
    climb->done = std::move(done);
    climb->step(container);
}

void install_directory_profile(boost::asio::io_context& io, bridge::Device& device,
                               std::shared_ptr<MediaDirectory> directory,
                               std::shared_ptr<const bridge::AccessPolicy> access) {
    device.add_feature(ns_server);
    std::weak_ptr<MediaDirectory> weak = directory;
    auto watch = std::make_shared<DirectoryWatch>(io);
    device.on_channel([watch](const bridge::ChannelPtr& channel) { watch->attach(channel); });
    // The directory watches its source (GENA, polling) only while someone watches.
    watch->on_watched_changed([weak, w = std::weak_ptr<DirectoryWatch>(watch)] {
        auto dir = weak.lock();
        auto watch = w.lock();
        if (!dir || !watch) return;
        dir->watch(watch->containers(), [w](const std::string& id, std::uint32_t update) {
            if (auto watch = w.lock()) watch->changed(id, update);
        });
    });
    std::weak_ptr<bridge::OobLinks> links = device.oob_links();
    device.handle("get", ns_server, "browse",
                  [&io, links, weak, access, watch, device = device.resource()](const bridge::ChannelPtr& channel,
                                                                    const client::Peer& peer, const xml::Element& iq,
                                                                    client::IqResponder r) {
                      if (auto admitted = access->admit(peer); !admitted) return r.error(std::move(*admitted.denied));
                      auto req = parse_browse(*iq.first_element());
                      if (!req) return r.error(req.error());
                      std::weak_ptr<client::PeerChannel> weak_channel = channel;
                      gate(*access, weak, device, peer, req->id, std::move(r),
                           [weak, watch, weak_channel, delivery = Delivery{&io, links, peer}, req = *req](
                               client::IqResponder r) {
                               browse_and_watch(weak, watch, weak_channel, delivery, req, std::move(r));
                           });
                  });
    device.handle("get", ns_server, "search",
                  [&io, links, weak, access, device = device.resource()](
                      const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element& iq,
                      client::IqResponder r) {
                      if (auto admitted = access->admit(peer); !admitted) return r.error(std::move(*admitted.denied));
                      auto req = parse_search(*iq.first_element());
                      if (!req) return r.error(req.error());
                      gate(*access, weak, device, peer, req->container, std::move(r),
                           [weak, delivery = Delivery{&io, links, peer}, req = *req](client::IqResponder r) {
                               auto dir = weak.lock();
                               if (!dir) return r.error("remote-server-not-found", "the media server is gone");
                               dir->search(req, [r, delivery](DirectoryResult res) mutable {
                                   answer(delivery, r, std::move(res));
                               });
                           });
                  });
    device.handle("set", ns_pubsub, "pubsub",
                  [access, watch](const bridge::ChannelPtr& channel, const client::Peer& peer, const xml::Element& iq,
                                  client::IqResponder r) {
                      // Ends only the peer's own watches: any admitted peer may.
                      if (auto admitted = access->admit(peer); !admitted) return r.error(std::move(*admitted.denied));
                      const auto* unsub = iq.first_element()->child("unsubscribe", ns_pubsub);
                      if (!unsub) return r.error("service-unavailable", "only <unsubscribe/> is offered here");
                      if (!watch->unsubscribe(channel, peer, unsub->attr_or("node")))
                          return r.error("item-not-found", "no such watch of yours");
                      r.result();
                  });
}

}  // namespace xpmn::profiles
