#include "xmpp/core/jid.hpp"

#include <arpa/inet.h>
#include <idn-free.h>
#include <idn2.h>
#include <stringprep.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace xpmn {

namespace {

constexpr std::size_t kMaxPart = 1023;  // RFC 7622 §3.1: each part 1..1023 octets

// Decodes one UTF-8 code point at s[i], advancing i; nullopt if malformed
// (overlong, surrogate, beyond U+10FFFF, truncated).
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || s.size() - i < static_cast<std::size_t>(len)) return std::nullopt;
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
        auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return std::nullopt;
        cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += len;
    return cp;
}

bool valid_utf8_without_nul(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto cp = next_code_point(s, i);
        if (!cp || *cp == 0) return false;
    }
    return true;
}

// Runs a libidn stringprep profile. (The stringprep_xmpp_* macros pass a
// plain 0 as flags, which C++ does not convert to the enum; same call here.)
// Flags 0 allows unassigned code points.
std::optional<std::string> stringprep_part(std::string_view in, const Stringprep_profile* profile) {
    std::string buf(in);
    buf.resize(std::max(in.size(), kMaxPart) + 1, '\0');  // output longer than kMaxPart is invalid anyway
    if (stringprep(buf.data(), buf.size(), Stringprep_profile_flags{}, profile) != STRINGPREP_OK) return std::nullopt;
    buf.resize(std::char_traits<char>::length(buf.c_str()));
    if (buf.empty() || buf.size() > kMaxPart) return std::nullopt;
    return buf;
}

// True if NFKC changes the code point on its own ("HasCompat" in RFC 8264),
// which PRECIS IdentifierClass disallows.
bool has_compat(std::string_view utf8_cp) {
    std::unique_ptr<char, void (*)(void*)> nfkc(stringprep_utf8_nfkc_normalize(utf8_cp.data(),
                                                                               static_cast<ssize_t>(utf8_cp.size())),
                                                idn_free);
    return !nfkc || std::string_view(nfkc.get()) != utf8_cp;
}

// Symbols and punctuation beyond ASCII are not IdentifierClass; these blocks
// are where they cluster (general punctuation bar ZWNJ/ZWJ, arrows through
// misc symbols and arrows, and the emoji/pictograph planes).
bool in_symbol_block(char32_t cp) {
    return (cp >= 0x2000 && cp <= 0x206F && cp != 0x200C && cp != 0x200D) || (cp >= 0x2190 && cp <= 0x2BFF) ||
           (cp >= 0x1F000 && cp <= 0x1FAFF);
}

std::optional<std::string> prep_local(std::string_view in) {
    for (std::size_t i = 0; i < in.size();) {
        std::size_t start = i;
        char32_t cp = *next_code_point(in, i);  // input was validated as UTF-8
        if (cp < 0x80) {
            if (std::string_view("\"&'/:<>@ ").find(static_cast<char>(cp)) != std::string_view::npos) return std::nullopt;
            continue;
        }
        bool width_form = cp >= 0xFF01 && cp <= 0xFFEF;  // PRECIS width-maps these first
        if (in_symbol_block(cp) || (!width_form && has_compat(in.substr(start, i - start)))) return std::nullopt;
    }
    return stringprep_part(in, stringprep_xmpp_nodeprep);
}

std::optional<std::string> prep_resource(std::string_view in) {
    return stringprep_part(in, stringprep_xmpp_resourceprep);
}

bool ldh_label(std::string_view label) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

std::optional<std::string> prep_domain(std::string_view in) {
    if (in.size() > 4 * kMaxPart) return std::nullopt;
    if (in.front() == '[') {  // IPv6 literal, RFC 3986 IP-literal
        in6_addr addr{};
        if (in.size() < 3 || in.back() != ']') return std::nullopt;
        std::string inner(in.substr(1, in.size() - 2));
        if (inet_pton(AF_INET6, inner.c_str(), &addr) != 1) return std::nullopt;
        return std::string(in);
    }

    // UTS #46 mapping (case, width, NFC) and IDNA2008 validation to A-labels.
    // Without IDN2_USE_STD3_ASCII_RULES on purpose: libidn2 2.3 then silently
    // drops characters such as '_', ' ' or '@' instead of failing, so the
    // ASCII result is checked here instead.
    uint8_t* alabels = nullptr;
    int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(std::string(in).c_str()), &alabels,
                            IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    std::unique_ptr<uint8_t, void (*)(void*)> alabels_owner(alabels, idn2_free);
    if (rc != IDN2_OK || !alabels) return std::nullopt;
    std::string ascii(reinterpret_cast<const char*>(alabels));
    if (!ascii.empty() && ascii.back() == '.') ascii.pop_back();  // RFC 7622 §3.2: one trailing dot
    if (ascii.empty() || ascii.size() > 253) return std::nullopt;

    in_addr v4{};
    if (inet_pton(AF_INET, ascii.c_str(), &v4) == 1) return ascii;
    for (std::size_t pos = 0;;) {
        std::size_t dot = ascii.find('.', pos);
        if (!ldh_label(std::string_view(ascii).substr(pos, dot - pos))) return std::nullopt;
        if (dot == std::string::npos) break;
        pos = dot + 1;
    }

    // RFC 7622 §3.2.1: A-labels are converted to U-labels.
    char* ulabels = nullptr;
    rc = idn2_to_unicode_8z8z(ascii.c_str(), &ulabels, 0);
    std::unique_ptr<char, void (*)(void*)> ulabels_owner(ulabels, idn2_free);
    if (rc != IDN2_OK || !ulabels) return std::nullopt;
    std::string domain(ulabels);
    if (domain.empty() || domain.size() > kMaxPart) return std::nullopt;
    return domain;
}

}  // namespace

std::optional<Jid> Jid::parse(std::string_view text) {
    if (text.empty() || text.size() > 3 * 4 * kMaxPart || !valid_utf8_without_nul(text)) return std::nullopt;

    // RFC 7622 §3.1: the resource starts at the first '/', the localpart ends
    // at the first '@' before it.
    std::string_view rest = text;
    std::optional<std::string_view> resource;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        resource = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::optional<std::string_view> local;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        local = rest.substr(0, at);
        rest = rest.substr(at + 1);
    }
    // A separator with nothing on its side is invalid, as is no domain at all.
    if (rest.empty() || (local && local->empty()) || (resource && resource->empty())) return std::nullopt;

    Jid jid;
    auto domain = prep_domain(rest);
    if (!domain) return std::nullopt;
    jid.domain_ = std::move(*domain);
    if (local) {
        auto l = prep_local(*local);
        if (!l) return std::nullopt;
        jid.local_ = std::move(*l);
    }
    if (resource) {
        auto r = prep_resource(*resource);
        if (!r) return std::nullopt;
        jid.resource_ = std::move(*r);
    }
    return jid;
}

Jid Jid::must_parse(std::string_view text) {
    auto jid = parse(text);
    if (!jid) throw std::invalid_argument("invalid JID: '" + std::string(text) + "'");
    return std::move(*jid);
}

Jid Jid::bare() const {
    Jid b = *this;
    b.resource_.clear();
    return b;
}

Jid Jid::with_resource(std::string resource) const {
    if (empty()) throw std::invalid_argument("with_resource on an empty JID");
    auto r = resource.empty() || !valid_utf8_without_nul(resource) ? std::nullopt : prep_resource(resource);
    if (!r) throw std::invalid_argument("invalid JID resourcepart: '" + resource + "'");
    Jid j = *this;
    j.resource_ = std::move(*r);
    return j;
}

std::string Jid::str() const {
    std::string out;
    out.reserve(local_.size() + domain_.size() + resource_.size() + 2);
    if (!local_.empty()) out.append(local_).append(1, '@');
    out.append(domain_);
    if (!resource_.empty()) out.append(1, '/').append(resource_);
    return out;
}

}  // namespace xpmn

std::size_t std::hash<xpmn::Jid>::operator()(const xpmn::Jid& j) const noexcept {
    std::hash<std::string_view> h;
    std::size_t seed = h(j.local());
    seed ^= h(j.domain()) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    seed ^= h(j.resource()) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    return seed;
}
