#include "adapters/upnp/container_update_ids.hpp"

#include <charconv>

namespace xpmn::upnp {

std::vector<std::pair<std::string, std::uint32_t>> parse_container_update_ids(std::string_view csv,
                                                                              std::size_t max_pairs) {
    std::vector<std::string> fields;
    std::string field;
    for (std::size_t i = 0; i < csv.size(); ++i) {
        if (csv[i] == '\\' && i + 1 < csv.size()) {
            field += csv[++i];
        } else if (csv[i] == ',') {
            fields.push_back(std::move(field));
            field.clear();
            if (fields.size() >= 2 * max_pairs) break;
        } else {
            field += csv[i];
        }
    }
    if (!field.empty() || (!csv.empty() && csv.back() == ',')) fields.push_back(std::move(field));

    std::vector<std::pair<std::string, std::uint32_t>> out;
    for (std::size_t i = 0; i + 1 < fields.size() && out.size() < max_pairs; i += 2) {
        const std::string& number = fields[i + 1];
        std::uint32_t update = 0;
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), update);
        if (fields[i].empty() || number.empty() || ec != std::errc() || end != number.data() + number.size()) continue;
        out.emplace_back(fields[i], update);
    }
    return out;
}

}  // namespace xpmn::upnp
