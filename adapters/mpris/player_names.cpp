#include "adapters/mpris/player_names.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <string_view>

namespace xpmn::mpris {

std::optional<std::string> mpris_suffix(const std::string& bus_name) {
    const std::string_view prefix = kMprisPrefix;
    if (bus_name.size() <= prefix.size() || bus_name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return bus_name.substr(prefix.size());
}

SplitSuffix split_instance(const std::string& suffix) {
    const std::string_view marker = ".instance";
    const auto at = suffix.rfind(marker);
    if (at == std::string::npos || at == 0) return {suffix, {}};
    const std::string digits = suffix.substr(at + marker.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return {suffix, {}};
    return {suffix.substr(0, at), digits};
}

std::string resource_token(const std::string& text) {
    std::string out;
    bool dash = false;
    for (unsigned char c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && !out.empty()) out += '-';
            dash = false;
            out += static_cast<char>(c);
        } else {
            dash = true;  // '-' itself too: runs collapse to one
        }
    }
    return out.empty() ? "player" : out;
}

std::string preferred_suffix(std::vector<std::string> suffixes) {
    std::sort(suffixes.begin(), suffixes.end());
    for (const auto& s : suffixes)
        if (split_instance(s).instance.empty()) return s;
    return suffixes.empty() ? std::string() : suffixes.front();
}

std::string player_resource(const std::string& suffix, bool base_taken) {
    const SplitSuffix s = split_instance(suffix);
    if (s.instance.empty() || !base_taken) return "mpris-" + resource_token(s.base);
    return "mpris-" + resource_token(s.base) + "-" + s.instance;
}

namespace {
bool matches_any(const std::vector<std::string>& globs, const std::string& suffix, const std::string& identity) {
    for (const auto& g : globs)
        if (fnmatch(g.c_str(), suffix.c_str(), FNM_CASEFOLD) == 0 ||
            (!identity.empty() && fnmatch(g.c_str(), identity.c_str(), FNM_CASEFOLD) == 0))
            return true;
    return false;
}
}  // namespace

bool player_selected(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                     const std::string& suffix, const std::string& identity) {
    if (matches_any(exclude, suffix, identity)) return false;
    return include.empty() || matches_any(include, suffix, identity);
}

}  // namespace xpmn::mpris
