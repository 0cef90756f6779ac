#include "bridge/profiles/player_profile.hpp"

#include "bridge/profiles/auto_notify.hpp"
#include "bridge/profiles/opened_items.hpp"

#include "bridge/profiles/player_controls.hpp"
#include "bridge/profiles/player_open.hpp"
#include "bridge/profiles/player_requests.hpp"
#include "bridge/profiles/player_xml.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

namespace {

using security::Permission;

// Everything one player device's handlers share.
struct PlayerContext {
    boost::asio::io_context& io;
    std::string device;  // resource
    std::weak_ptr<MediaPlayer> player;
    std::shared_ptr<const bridge::AccessPolicy> access;
    std::shared_ptr<PlayableResolver> resolver;
    std::shared_ptr<MuteEmulation> mute;
    std::shared_ptr<PlayerEvents> events;
    // The device keeps its player while it exists (the adapter may keep it too).
    std::shared_ptr<MediaPlayer> keep;
    std::chrono::milliseconds open_deadline;
};
using ContextPtr = std::shared_ptr<const PlayerContext>;

// Runs `go` with the live player when the peer holds `permission` on the
// device (owners always); answers the denial or the player's absence.
void gate(const ContextPtr& ctx, const client::Peer& peer, Permission permission, client::IqResponder r,
          std::function<void(MediaPlayer&, client::IqResponder)> go) {
    ctx->access->decide(peer, bridge::AccessRequest{ctx->device, permission, std::nullopt}, {},
                        [ctx, r, go = std::move(go)](std::optional<xml::Element> denied) mutable {
                            if (denied) return r.error(std::move(*denied));
                            auto player = ctx->player.lock();
                            if (!player) return r.error("service-unavailable", "the player is gone");
                            go(*player, std::move(r));
                        });
}

// The responder's answer to a command without a result payload.
MediaPlayer::Done answer(client::IqResponder r) {
    return [r](Result<void> done) mutable {
        if (!done) return r.error(done.error());
        r.result();
    };
}

void run_command(const ContextPtr& ctx, const client::Peer& peer, PlayerCommand cmd, MediaPlayer& player,
                 client::IqResponder r) {
    using Kind = PlayerCommand::Kind;
    switch (cmd.kind) {
        case Kind::Open: {
            auto shared = ctx->player.lock();
            return open_playlist(ctx->io, shared, ctx->resolver, PlayableRequest{{}, ctx->device, peer, std::nullopt},
                                 std::move(cmd.uris), ctx->open_deadline, [r](Result<xml::Element> item) mutable {
                                     if (!item) return r.error(item.error());
                                     r.result(std::move(item).value());
                                 });
        }
        case Kind::Play: return player.play(answer(r));
        case Kind::Pause: return player.pause(answer(r));
        case Kind::Stop: return player.stop(answer(r));
        case Kind::Next: return player.next(answer(r));
        case Kind::Previous: return player.previous(answer(r));
        case Kind::Seek:
            if (cmd.position) return player.seek_to(*cmd.position, answer(r));
            return player.seek_by(*cmd.offset, answer(r));
    }
}

void handle_player_set(const ContextPtr& ctx, const client::Peer& peer, const xml::Element& iq,
                       client::IqResponder r) {
    gate(ctx, peer, Permission::Control, std::move(r),
         [ctx, peer, payload = *iq.first_element()](MediaPlayer& player, client::IqResponder r) {
             auto cmd = parse_player_command(payload);
             if (!cmd) return r.error(cmd.error());
             run_command(ctx, peer, std::move(cmd).value(), player, std::move(r));
         });
}

void handle_player_get(const ContextPtr& ctx, const client::Peer& peer, const xml::Element& iq,
                       client::IqResponder r) {
    auto children = iq.first_element()->elements();
    if (children.size() != 1 || children.front()->name() != "status" || children.front()->ns() != ns::media_player)
        return r.error("service-unavailable", "a player answers <status/> to an IQ get");
    gate(ctx, peer, Permission::Events, std::move(r), [](MediaPlayer& player, client::IqResponder r) {
        player.status([r](Result<PlayerStatus> s) mutable {
            if (!s) return r.error(s.error());
            r.result(status_element(*s, s->position));
        });
    });
}

void handle_control_get(const ContextPtr& ctx, const client::Peer& peer, const xml::Element& iq,
                        client::IqResponder r) {
    if (!iq.first_element()->elements().empty())
        return r.error("bad-request", "an IQ get of <control/> holds nothing");
    gate(ctx, peer, Permission::Events, std::move(r), [ctx](MediaPlayer& player, client::IqResponder r) {
        auto read = ctx->mute->read_starts();
        player.controls([ctx, r, read](Result<PlayerControls> c) mutable {
            if (!c) return r.error(c.error());
            r.result(controls_element(ctx->mute->shown(*c, read)));
        });
    });
}

void handle_control_set(const ContextPtr& ctx, const client::Peer& peer, const xml::Element& iq,
                        client::IqResponder r) {
    gate(ctx, peer, Permission::Control, std::move(r),
         [ctx, payload = *iq.first_element()](MediaPlayer&, client::IqResponder r) {
             auto changes = parse_control_set(payload);
             if (!changes) return r.error(changes.error());
             auto player = ctx->player.lock();
             if (!player) return r.error("service-unavailable", "the player is gone");
             apply_controls(player, ctx->mute, std::move(changes).value(), answer(r));
         });
}

bool is_event_node(const std::string& node) {
    return node == ns::player_status_node || node == ns::player_controls_node;
}

void handle_pubsub(const ContextPtr& ctx, const bridge::ChannelPtr& channel, const client::Peer& peer,
                   const xml::Element& iq, client::IqResponder r) {
    auto children = iq.first_element()->elements();
    const xml::Element* op = children.size() == 1 ? children.front() : nullptr;
    if (!op || op->ns() != ns::pubsub || (op->name() != "subscribe" && op->name() != "unsubscribe"))
        return r.error("service-unavailable", "a player offers <subscribe/> and <unsubscribe/> (one per request)");
    std::string node = op->attr_or("node");
    if (node.empty()) return r.error("bad-request", "<" + op->name() + "/> needs a node");
    if (!is_event_node(node))
        return r.error("item-not-found", "no node '" + node + "' (urn:xmpp:media:player:status, urn:xmpp:tmp:media:control:0)");
    std::weak_ptr<client::PeerChannel> weak_channel = channel;
    if (op->name() == "unsubscribe") {
        // Ends only the peer's own subscription: any admitted peer may.
        if (auto admitted = ctx->access->admit(peer); !admitted) return r.error(std::move(*admitted.denied));
        if (!ctx->events->unsubscribe(channel, peer, node)) return r.error("item-not-found", "you are not subscribed to " + node);
        return r.result();
    }
    gate(ctx, peer, Permission::Events, std::move(r), [ctx, weak_channel, peer, node](MediaPlayer&, client::IqResponder r) {
        auto channel = weak_channel.lock();
        if (!channel || channel->closed()) return r.error("service-unavailable", "the channel of this request has ended");
        if (!ctx->events->subscribe(channel, peer, node))
            return r.error("resource-constraint", "too many subscriptions to this player");
        xml::Element ps("pubsub", ns::pubsub);
        auto& sub = ps.add("subscription", ns::pubsub);
        sub.set_attr("node", node);
        sub.set_attr("jid", peer.jid.str());
        sub.set_attr("subscription", "subscribed");
        r.result(std::move(ps));
    });
}

}  // namespace

void install_player_profile(boost::asio::io_context& io, bridge::Device& device, std::shared_ptr<MediaPlayer> player,
                            std::shared_ptr<const bridge::AccessPolicy> access,
                            std::shared_ptr<PlayableResolver> resolver, PlayerEventTiming timing,
                            std::shared_ptr<client::CapsCache> caps, std::chrono::milliseconds open_deadline) {
    device.add_feature(ns::media_player);
    device.add_feature(ns::media_control);
    player = std::make_shared<OpenedItems>(std::move(player));
    auto mute = std::make_shared<MuteEmulation>();
    // Events go only to peers that still hold `events` or `control` (a grant may be revoked or expire).
    // decide() answers at once for a request without a container.
    auto allowed = [access, resource = device.resource()](const client::Peer& peer) {
        bool ok = false;
        access->decide(peer, bridge::AccessRequest{resource, Permission::Events, std::nullopt}, {},
                       [&ok](std::optional<xml::Element> denied) { ok = !denied; });
        return ok;
    };
    auto events = std::make_shared<PlayerEvents>(io, player, mute, std::move(timing), allowed);
    auto ctx = std::make_shared<const PlayerContext>(
        PlayerContext{io, device.resource(), player, std::move(access), std::move(resolver), mute, events, player,
                      open_deadline});
    if (!caps) caps = std::make_shared<client::CapsCache>();
    auto automatic = std::make_shared<AutoNotify>(ctx->access, events, std::move(caps));
    device.on_channel([events, automatic](const bridge::ChannelPtr& channel) {
        events->attach(channel);
        automatic->attach(channel);
    });
    auto on = [&device, ctx](const char* type, const char* ns, const char* name, auto handler) {
        device.handle(type, ns, name,
                      [ctx, handler](const bridge::ChannelPtr& channel, const client::Peer& peer,
                                     const xml::Element& iq, client::IqResponder r) {
                          handler(ctx, channel, peer, iq, std::move(r));
                      });
    };
    auto without_channel = [](auto f) {
        return [f](const ContextPtr& ctx, const bridge::ChannelPtr&, const client::Peer& peer, const xml::Element& iq,
                   client::IqResponder r) { f(ctx, peer, iq, std::move(r)); };
    };
    on("set", ns::media_player, "player", without_channel(handle_player_set));
    on("get", ns::media_player, "player", without_channel(handle_player_get));
    on("get", ns::media_control, "control", without_channel(handle_control_get));
    on("set", ns::media_control, "control", without_channel(handle_control_set));
    on("set", ns::pubsub, "pubsub", handle_pubsub);
}

}  // namespace xpmn::profiles
