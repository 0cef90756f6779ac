// How a Directory search (wire profile §5) runs against a UPnP server: the
// UPnP SearchCriteria sent to the NAS, and the bridge's own matcher that
// decides what is a hit. The profile's text terms match case-insensitively
// with Unicode case folding whatever the NAS does; a NAS's `contains` often
// folds ASCII only (minidlna: SQLite LIKE) and mishandles XML-special
// characters (minidlna stores them escaped). So a term is sent to the NAS
// only as far as it can be matched reliably (narrowed to its longest
// reliable run, or left out), and every NAS hit is checked here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bridge/profiles/directory_profile.hpp"
#include "mappings/didl/didl_parser.hpp"

namespace xpmn::upnp {

// Unicode case folding with compatibility normalization (NFKD, fold, NFKC),
// so "Ä" (one code point or A + combining diaeresis), "ä" and "Ä" compare
// equal, and "ß" matches "SS". Invalid UTF-8 is repaired first.
std::string fold_case(std::string_view text);

// Whether an item matches every term (AND): text terms as substrings after
// fold_case, class exactly. Containers never match.
class SearchMatcher {
public:
    explicit SearchMatcher(const profiles::SearchRequest& request);
    bool operator()(const mappings::MediaObject& object) const;

private:
    std::vector<std::pair<std::string, std::string>> terms_;  // (key, folded value or class)
};

// The part of a text term a NAS's `contains` matches reliably: its longest
// run of printable ASCII other than & < > " ' \ % _ (SQL LIKE wildcards
// give false hits, which the matcher drops, but are left out to keep the
// NAS's answer small), spaces trimmed; empty when there is none.
std::string reliable_part(const std::string& term);

struct SearchPlan {
    std::string criteria;  // UPnP SearchCriteria
    // True when the NAS is asked for exactly the terms: its hits and totals
    // can be paged as they come (each page is still checked). False when a
    // term was narrowed or left out: all hits are fetched and filtered here.
    bool exact = true;
};

// The plan for a request on a server with these search capabilities
// (comma-separated property names, or "*"), or nullopt when they do not
// cover the terms (then the containers are walked).
std::optional<SearchPlan> plan_search(const profiles::SearchRequest& request, const std::string& capabilities);

}  // namespace xpmn::upnp
