#include "bridge/profiles/transfer_profile.hpp"

#include <charconv>

#include "bridge/profiles/directory_profile.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::profiles {

namespace {

Error bad_request(std::string text) { return {"bad-request", std::move(text)}; }

// An optional non-negative 64-bit offset; false when present but invalid.
bool read_offset(const xml::Element& e, std::string_view name, std::optional<std::uint64_t>& out) {
    auto v = e.attr(name);
    if (!v) return true;
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc() || p != v->data() + v->size()) return false;
    out = n;
    return true;
}

xml::Element oob_result(const std::string& id, const OpenedMedia& media) {
    xml::Element oob("oob", ns_oob);
    oob.set_attr("id", id);
    oob.set_attr("size", std::to_string(media.size));
    oob.set_attr("total", std::to_string(media.total));
    if (!media.type.empty()) oob.set_attr("type", media.type);
    return oob;
}

void start_transfer(const TransferServices& services, const std::weak_ptr<bridge::OobLinks>& links,
                    const client::Peer& peer, const TransferRequest& request, client::IqResponder r) {
    services.transfers->open(request, [r, peer, links](Result<OpenedMedia> opened) mutable {
        if (!opened) {
            if (opened.error().condition == "range-not-satisfiable")
                return r.error(range_not_satisfiable_error(opened.error().text));
            return r.error(opened.error());
        }
        OpenedMedia media = std::move(opened).value();
        auto source = std::move(media.source);
        // The session may have ended while the NAS answered.
        auto live = links.lock();
        auto id = live ? live->send(peer, std::move(source)) : std::nullopt;
        if (!id) return r.error(oob_session_required_error());
        r.result(oob_result(*id, media));
    });
}

}  // namespace

Result<TransferRequest> parse_transfer(const xml::Element& e) {
    TransferRequest r;
    auto uid = e.attr("uid");
    if (!uid || uid->empty() || char_count(*uid) > kMaxIdLength)
        return bad_request("transfer needs a uid of 1 to 1024 characters");
    r.uid = std::string(*uid);
    if (!read_offset(e, "from", r.from)) return bad_request("from must be a non-negative integer");
    if (!read_offset(e, "to", r.to)) return bad_request("to must be a non-negative integer");
    if (r.from && r.to && *r.from > *r.to) return bad_request("from must not be greater than to");
    return r;
}

xml::Element range_not_satisfiable_error(std::string_view text) {
    xml::Element err = stanza::error_element("bad-request", text.empty() ? "the range lies outside the resource" : text);
    err.add("range-not-satisfiable", ns_server);
    return err;
}

xml::Element oob_session_required_error() {
    xml::Element err = stanza::error_element("unexpected-request", "open an out-of-band session to this device first");
    err.add("oob-session-required", ns_server);
    return err;
}

void install_transfer_profile(bridge::Device& device, TransferServices services,
                              std::shared_ptr<const bridge::AccessPolicy> access) {
    device.handle("get", ns_server, "transfer",
                  [services = std::move(services), access, device = device.resource(),
                   links = std::weak_ptr<bridge::OobLinks>(device.oob_links())](
                      const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element& iq,
                      client::IqResponder r) {
                      if (auto admitted = access->admit(peer); !admitted) return r.error(std::move(*admitted.denied));
                      auto req = parse_transfer(*iq.first_element());
                      if (!req) return r.error(req.error());
                      auto object = services.transfers->object_of(req->uid);
                      if (!object) return r.error("item-not-found", "no such transfer uid (browse first)");
                      auto live = links.lock();
                      if (!live) return r.error(oob_session_required_error());
                      auto go = [services, access, device, links, peer, object = *object, req = *req,
                                 r = std::move(r)](bool ready) mutable {
                          if (!ready) return r.error(oob_session_required_error());
                          auto start = [services, links, peer, req](client::IqResponder r) {
                              start_transfer(services, links, peer, req, std::move(r));
                          };
                          if (services.device_permission)
                              return access->decide(peer, {device, *services.device_permission, std::nullopt}, {},
                                                    [r, start](std::optional<xml::Element> denied) mutable {
                                                        if (denied) return r.error(std::move(*denied));
                                                        start(std::move(r));
                                                    });
                          // A friend's grant on a container covers the items below it.
                          gate(*access, services.directory, device, peer, object, std::move(r), start);
                      };
                      if (live->ready(peer)) return go(true);
                      if (!live->setting_up(peer)) return go(false);
                      live->when_ready(peer, services.executor, services.setup_wait, std::move(go));
                  });
}

}  // namespace xpmn::profiles
