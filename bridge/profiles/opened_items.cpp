#include "bridge/profiles/opened_items.hpp"

#include "xmpp/core/namespaces.hpp"

namespace xpmn::profiles {

void OpenedItems::open(std::vector<PlayableItem> playlist, Done done) {
    auto known = std::make_shared<std::map<std::string, xml::Element>>();
    for (const auto& item : playlist)
        if (item.metadata && known->size() < kMaxRemembered) known->emplace(item.url, *item.metadata);
    player_->open(std::move(playlist), [this_known = known_, known, done = std::move(done)](Result<void> r) {
        if (r) *this_known = std::move(*known);  // what the player now plays
        done(std::move(r));
    });
}

void OpenedItems::status(StatusDone done) {
    player_->status([known = known_, done = std::move(done)](Result<PlayerStatus> r) {
        if (r && r->item) {
            const auto* uri = r->item->child("uri", ns::media_metadata);
            if (auto it = uri ? known->find(uri->text()) : known->end(); it != known->end()) {
                xml::Element item = it->second;
                if (!item.child("uri", ns::media_metadata)) item.add_text_child("uri", uri->text());
                r->item = std::move(item);
            }
        }
        done(std::move(r));
    });
}

}  // namespace xpmn::profiles
