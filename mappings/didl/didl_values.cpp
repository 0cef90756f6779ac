#include "mappings/didl/didl_values.hpp"

#include <charconv>
#include <limits>

namespace xpmn::mappings {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Takes between min and max digits from the front of `s`.
std::optional<std::string_view> take_digits(std::string_view& s, std::size_t min, std::size_t max) {
    std::size_t n = 0;
    while (n < s.size() && n < max && is_digit(s[n])) ++n;
    if (n < min || (n < s.size() && is_digit(s[n]))) return std::nullopt;
    auto out = s.substr(0, n);
    s.remove_prefix(n);
    return out;
}

bool take_char(std::string_view& s, char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

std::uint64_t digits_value(std::string_view d) {  // caller bounds the length
    std::uint64_t v = 0;
    for (char c : d) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    return v;
}

}  // namespace

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    s = trim_ascii(s);
    if (s.empty() || !is_digit(s.front())) return std::nullopt;  // from_chars would accept nothing else, but be explicit
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
    auto v = parse_u64(s);
    if (!v || *v > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    return static_cast<std::uint32_t>(*v);
}

std::optional<double> parse_duration(std::string_view s) {
    s = trim_ascii(s);
    auto h = take_digits(s, 1, 9);  // 9 digits of hours stay far from double's exact-integer range
    if (!h || !take_char(s, ':')) return std::nullopt;
    auto m = take_digits(s, 1, 2);
    if (!m || !take_char(s, ':')) return std::nullopt;
    auto sec = take_digits(s, 1, 2);
    if (!sec) return std::nullopt;
    std::uint64_t mv = digits_value(*m), sv = digits_value(*sec);
    if (mv >= 60 || sv >= 60) return std::nullopt;
    std::uint64_t whole = digits_value(*h) * 3600 + mv * 60 + sv;
    if (s.empty()) return static_cast<double>(whole);
    if (!take_char(s, '.')) return std::nullopt;

    if (auto slash = s.find('/'); slash != std::string_view::npos) {  // F0/F1
        std::string_view f0s = s.substr(0, slash), f1s = s.substr(slash + 1);
        auto f0 = take_digits(f0s, 1, 9), f1 = take_digits(f1s, 1, 9);
        if (!f0 || !f1 || !f0s.empty() || !f1s.empty()) return std::nullopt;
        std::uint64_t a = digits_value(*f0), b = digits_value(*f1);
        if (b == 0 || a >= b) return std::nullopt;
        return static_cast<double>(whole) + static_cast<double>(a) / static_cast<double>(b);
    }
    // F+: let from_chars round "whole.fraction" correctly instead of summing doubles.
    auto frac = take_digits(s, 1, 30);
    if (!frac || !s.empty()) return std::nullopt;
    std::string text = std::to_string(whole);
    if (!frac->empty()) text.append(".").append(*frac);
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::optional<std::string> parse_resolution(std::string_view s) {
    s = trim_ascii(s);
    auto w = take_digits(s, 1, 7);
    if (!w || !take_char(s, 'x')) return std::nullopt;
    auto h = take_digits(s, 1, 7);
    if (!h || !s.empty()) return std::nullopt;
    std::uint64_t wv = digits_value(*w), hv = digits_value(*h);
    if (wv == 0 || hv == 0) return std::nullopt;
    return std::to_string(wv) + "x" + std::to_string(hv);
}

std::optional<int> parse_track_number(std::string_view s) {
    auto v = parse_u64(s);
    if (!v || *v == 0 || *v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
    return static_cast<int>(*v);
}

std::optional<DidlDate> parse_date(std::string_view s) {
    s = trim_ascii(s);
    std::string_view rest = s;
    if (!take_digits(rest, 4, 4)) return std::nullopt;
    if (take_char(rest, '-')) {
        auto mo = take_digits(rest, 2, 2);
        if (!mo || digits_value(*mo) < 1 || digits_value(*mo) > 12) return std::nullopt;
        if (take_char(rest, '-')) {
            auto d = take_digits(rest, 2, 2);
            if (!d || digits_value(*d) < 1 || digits_value(*d) > 31) return std::nullopt;
        }
    }
    std::string_view day = s.substr(0, s.size() - rest.size());
    if (!rest.empty()) {
        if (rest.front() != 'T' || rest.size() < 2 || rest.size() > 40) return std::nullopt;
        for (char c : rest.substr(1))
            if (!is_digit(c) && c != ':' && c != '.' && c != '+' && c != '-' && c != 'Z') return std::nullopt;
    }
    return DidlDate{std::string(s), std::string(day), day.size() == 4};
}

std::string media_class(std::string_view upnp_class) {
    auto under = [&](std::string_view prefix) {
        return upnp_class.substr(0, prefix.size()) == prefix &&
               (upnp_class.size() == prefix.size() || upnp_class[prefix.size()] == '.');
    };
    if (under("object.item.audioItem")) return "audio";
    if (under("object.item.videoItem")) return "video";
    if (under("object.item.imageItem")) return "image";
    return "other";
}

bool is_fetchable_url(std::string_view url) {
    auto starts_nocase = [&](std::string_view p) {
        if (url.size() <= p.size()) return false;
        for (std::size_t i = 0; i < p.size(); ++i)
            if ((url[i] | 0x20) != p[i]) return false;  // p is lowercase letters and ":/"
        return true;
    };
    if (!starts_nocase("http://") && !starts_nocase("https://")) return false;
    for (unsigned char c : url)
        if (c <= 0x20 || c == 0x7F) return false;
    return true;
}

std::optional<std::uint64_t> bitrate_bps(std::uint64_t declared, std::optional<std::uint64_t> size,
                                         std::optional<double> duration_s, std::string& note) {
    note.clear();
    if (declared == 0) {
        note = "zero";
        return std::nullopt;
    }
    constexpr std::uint64_t kMaxBytes = std::numeric_limits<std::uint64_t>::max() / 8;
    if (size && *size > 0 && duration_s && *duration_s > 0) {
        // Upper bound of the media byte rate; a factor 2 absorbs container
        // overhead and durations rounded down (Rygel, Gerbera). The low bound
        // (1/16) leaves room for large embedded cover art.
        const double avg = static_cast<double>(*size) / *duration_s;
        const double d = static_cast<double>(declared);
        if (d <= 2 * avg) {
            if (d * 16 < avg) {
                note = "implausibly low for size/duration";
                return std::nullopt;
            }
            if (declared > kMaxBytes) {
                note = "overflow";
                return std::nullopt;
            }
            return declared * 8;
        }
        if (d / 8 <= 2 * avg) {
            note = "read as bit/s: as bytes/s it exceeds size/duration";
            return declared;
        }
        note = "implausibly high for size/duration";
        return std::nullopt;
    }
    if (declared > kMaxBytes) {
        note = "overflow";
        return std::nullopt;
    }
    return declared * 8;
}

std::string_view trim_ascii(std::string_view s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

std::string truncate_utf8(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) return std::string(s);
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return std::string(s.substr(0, cut));
}

}  // namespace xpmn::mappings
