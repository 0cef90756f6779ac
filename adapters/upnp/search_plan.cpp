#include "adapters/upnp/search_plan.hpp"

#include <glib.h>

#include <algorithm>
#include <memory>
#include <set>

namespace xpmn::upnp {

namespace {

using GString = std::unique_ptr<gchar, decltype(&g_free)>;

GString owned(gchar* s) { return GString(s, &g_free); }

// UPnP property searched for each term of the wire profile.
const char* upnp_property(const std::string& key) {
    if (key == "title") return "dc:title";
    if (key == "artist") return "upnp:artist";
    if (key == "album") return "upnp:album";
    if (key == "genre") return "upnp:genre";
    if (key == "creator") return "dc:creator";
    if (key == "class") return "upnp:class";
    return nullptr;
}

// Quoted string per the UPnP ContentDirectory search grammar: \" and \\ escaped.
std::string quoted(const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

bool reliable(char c) {
    return c >= 0x20 && c < 0x7f && std::string_view("&<>\"'\\%_").find(c) == std::string_view::npos;
}

const std::string* field_of(const mappings::MediaObject& o, const std::string& key) {
    if (key == "title") return &o.title;
    if (key == "artist") return &o.artist;
    if (key == "album") return &o.album;
    if (key == "genre") return &o.genre;
    if (key == "creator") return &o.creator;
    return nullptr;
}

std::set<std::string> capability_set(const std::string& capabilities) {
    std::set<std::string> caps;
    std::size_t pos = 0;
    while (pos <= capabilities.size()) {
        auto comma = capabilities.find(',', pos);
        std::string p = capabilities.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        p.erase(0, p.find_first_not_of(" \t"));
        p.erase(p.find_last_not_of(" \t") + 1);
        if (!p.empty()) caps.insert(p);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return caps;
}

}  // namespace

std::string fold_case(std::string_view text) {
    auto valid = owned(g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
    auto decomposed = owned(g_utf8_normalize(valid.get(), -1, G_NORMALIZE_ALL));
    if (!decomposed) return {};
    auto folded = owned(g_utf8_casefold(decomposed.get(), -1));
    auto composed = owned(g_utf8_normalize(folded.get(), -1, G_NORMALIZE_ALL_COMPOSE));
    return composed ? composed.get() : folded.get();
}

SearchMatcher::SearchMatcher(const profiles::SearchRequest& request) {
    for (const auto& [k, v] : request.terms) terms_.emplace_back(k, k == "class" ? v : fold_case(v));
}

bool SearchMatcher::operator()(const mappings::MediaObject& o) const {
    if (o.is_container) return false;
    for (const auto& [k, v] : terms_) {
        if (k == "class") {
            if (o.cls != v) return false;
            continue;
        }
        const std::string* field = field_of(o, k);
        if (!field || fold_case(*field).find(v) == std::string::npos) return false;
    }
    return true;
}

std::string reliable_part(const std::string& term) {
    std::size_t best = 0, best_len = 0;
    for (std::size_t i = 0; i < term.size();) {
        if (!reliable(term[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < term.size() && reliable(term[j])) ++j;
        // Trim the run's spaces before comparing: they match nothing by themselves.
        std::size_t a = i, b = j;
        while (a < b && term[a] == ' ') ++a;
        while (b > a && term[b - 1] == ' ') --b;
        if (b - a > best_len) best = a, best_len = b - a;
        i = j;
    }
    return term.substr(best, best_len);
}

std::optional<SearchPlan> plan_search(const profiles::SearchRequest& r, const std::string& capabilities) {
    std::set<std::string> caps = capability_set(capabilities);
    bool all = caps.count("*") > 0;
    SearchPlan plan;
    std::vector<std::string> clauses;
    bool has_class = false;
    for (const auto& [k, v] : r.terms) {
        const char* prop = upnp_property(k);
        if (!prop || (!all && !caps.count(prop))) return std::nullopt;
        if (k == "class") {
            if (v == "other") return std::nullopt;  // "none of the others" has no UPnP expression
            std::string upnp_class = v == "audio" ? "object.item.audioItem"
                                     : v == "video" ? "object.item.videoItem"
                                                    : "object.item.imageItem";
            clauses.push_back(std::string(prop) + " derivedfrom " + quoted(upnp_class));
            has_class = true;
            continue;
        }
        std::string part = reliable_part(v);
        if (part != v) plan.exact = false;
        if (!part.empty()) clauses.push_back(std::string(prop) + " contains " + quoted(part));
    }
    // Items only: a container whose title matches is not a search hit here.
    if (!has_class) {
        if (!all && !caps.count("upnp:class")) return std::nullopt;
        clauses.push_back("upnp:class derivedfrom \"object.item\"");
    }
    for (const auto& c : clauses) plan.criteria += (plan.criteria.empty() ? "" : " and ") + c;
    return plan;
}

}  // namespace xpmn::upnp
