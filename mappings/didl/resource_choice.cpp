#include "mappings/didl/resource_choice.hpp"

#include <tuple>

#include "mappings/didl/didl_values.hpp"

namespace xpmn::mappings {

std::optional<std::size_t> best_resource(const std::vector<ResourceCandidate>& candidates,
                                         const std::string& media_class) {
    auto rank = [&](const ResourceCandidate& c) {
        bool class_match = false;
        if (media_class == "audio" || media_class == "video" || media_class == "image") {
            std::string prefix = media_class + "/";
            class_match = c.mime_type.compare(0, prefix.size(), prefix) == 0;
        }
        return std::make_tuple(class_match, !c.converted, c.protocol == "http-get", c.size.value_or(0));
    };
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (!is_fetchable_url(candidates[i].url)) continue;
        if (!best || rank(candidates[i]) > rank(candidates[*best])) best = i;  // strict: ties keep the first
    }
    return best;
}

}  // namespace xpmn::mappings
