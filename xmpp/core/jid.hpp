// XMPP addresses (RFC 7622): [localpart@]domainpart[/resourcepart], stored in
// normalized form so that == is address equality.
//
// RFC 7622 prepares the parts with PRECIS; Debian has no PRECIS library, so
// this is an approximation built from what it does have:
//   * domainpart: libidn2 (UTS #46 non-transitional mapping, IDNA2008 rules),
//     kept as U-labels (lowercase Unicode, "xn--" decoded); one trailing dot
//     stripped; labels must be letters/digits/hyphen (no '_'); IPv4 literals
//     and bracketed IPv6 literals are kept as written.
//   * localpart: libidn's XMPP Nodeprep (stringprep, Unicode 3.2, NFKC,
//     case-folded) instead of PRECIS UsernameCaseMapped. Differences: case
//     folding maps "ß" to "ss" and "ς" to "σ" (PRECIS keeps both). To stay
//     closer to PRECIS IdentifierClass, characters with a compatibility
//     decomposition (other than fullwidth/halfwidth forms, which PRECIS maps)
//     are rejected, and so are the common symbol blocks (arrows, math,
//     dingbats, chess, emoji). RFC 7622's forbidden "&'/:<>@ and space are
//     rejected.
//   * resourcepart: libidn's XMPP Resourceprep (case preserved) instead of
//     PRECIS OpaqueString; it applies NFKC, so "ＦＯＯ" becomes "FOO".
// Unassigned code points (relative to Unicode 3.2) are allowed, as for
// queries, so that newer characters (e.g. emoji in resources) still work.
// Each part is 1..1023 bytes after preparation.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace xpmn {

class Jid {
public:
    // The empty JID: a placeholder that holds no address (empty() is true,
    // str() is ""). parse() never returns it.
    Jid() = default;

    static std::optional<Jid> parse(std::string_view text);
    // As parse(), but throws std::invalid_argument naming the input.
    static Jid must_parse(std::string_view text);

    const std::string& local() const { return local_; }        // empty if none
    const std::string& domain() const { return domain_; }
    const std::string& resource() const { return resource_; }  // empty if none

    Jid bare() const;
    // Same address with another (prepared) resource. Throws std::invalid_argument
    // if the resource is invalid or empty, or if this JID is empty.
    Jid with_resource(std::string resource) const;

    std::string str() const;
    bool is_bare() const { return resource_.empty(); }
    bool empty() const { return domain_.empty(); }

    friend bool operator==(const Jid&, const Jid&) = default;
    // Orders by localpart, then domainpart, then resourcepart (bytewise).
    friend std::strong_ordering operator<=>(const Jid&, const Jid&) = default;

private:
    std::string local_;
    std::string domain_;
    std::string resource_;
};

}  // namespace xpmn

template <>
struct std::hash<xpmn::Jid> {
    std::size_t operator()(const xpmn::Jid& j) const noexcept;
};
