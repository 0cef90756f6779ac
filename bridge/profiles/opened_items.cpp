#include "bridge/profiles/opened_items.hpp"

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

void OpenedItems::open(std::vector<PlayableItem> playlist, Done done) {
    auto known = std::make_shared<std::map<std::string, xml::Element>>();
    // Every opened item is known by its URL, with at least the URI the
    // controller gave: the player would otherwise report the URL it was
    // handed (a NAS's LAN address) in status and events.
    for (const auto& item : playlist) {
        if (known->size() >= kMaxRemembered) break;
        xml::Element meta = item.metadata ? *item.metadata : xml::Element("item", ns::media_metadata);
        if (!meta.child("uri", ns::media_metadata) && !item.source.empty()) meta.add_text_child("uri", item.source);
        known->emplace(item.url, std::move(meta));
    }
    player_->open(std::move(playlist), [this_known = known_, known, done = std::move(done)](Result<void> r) {
        if (r) *this_known = std::move(*known);  // what the player now plays
        done(std::move(r));
    });
}

void OpenedItems::status(StatusDone done) {
    player_->status([known = known_, done = std::move(done)](Result<PlayerStatus> r) {
        if (r && r->item) {
            const auto* uri = r->item->child("uri", ns::media_metadata);
            if (auto it = uri ? known->find(uri->text()) : known->end(); it != known->end()) r->item = it->second;
        }
        done(std::move(r));
    });
}

}  // namespace xpmn::profiles
