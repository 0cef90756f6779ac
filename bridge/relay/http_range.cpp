// HTTP byte ranges: parsing, formatting and resolution (see header).
#include "bridge/relay/http_range.hpp"

#include <charconv>

namespace xpmn::relay {

namespace {

Error bad(std::string text) { return Error{"bad-request", std::move(text)}; }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        if (x != b[i]) return false;
    }
    return true;
}

// 1*DIGIT that fits 64 bits; nothing else (no sign, no space, no hex).
std::optional<std::uint64_t> number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    for (char c : s)
        if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;  // overflow
    return v;
}

// "A-B" with both numbers, A <= B.
std::optional<ByteSpan> span(std::string_view s) {
    const auto dash = s.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto first = number(s.substr(0, dash));
    const auto last = number(s.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    return ByteSpan{*first, *last};
}

}  // namespace

std::string format_range(const RangeSpec& range) {
    if (range.suffix) return "bytes=-" + std::to_string(*range.suffix);
    std::string out = "bytes=" + std::to_string(range.first) + "-";
    if (range.last) out += std::to_string(*range.last);
    return out;
}

Result<RangeSpec> parse_range(std::string_view header) {
    const auto eq = header.find('=');
    if (eq == std::string_view::npos || !iequals(trim_ows(header.substr(0, eq)), "bytes"))
        return bad("not a bytes range: " + std::string(header.substr(0, 64)));
    const std::string_view spec = trim_ows(header.substr(eq + 1));
    if (spec.find(',') != std::string_view::npos) return bad("only one range is supported");
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return bad("a range needs a '-'");
    const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
    if (a.empty()) {
        const auto n = number(b);
        if (!n) return bad("bad suffix length in range");
        return RangeSpec::last_bytes(*n);
    }
    const auto first = number(a);
    if (!first) return bad("bad first offset in range");
    if (b.empty()) return RangeSpec::from_to(*first);
    const auto last = number(b);
    if (!last) return bad("bad last offset in range");
    if (*last < *first) return bad("range ends before it starts");
    return RangeSpec::from_to(*first, *last);
}

Result<ContentRange> parse_content_range(std::string_view header) {
    header = trim_ows(header);
    const auto sp = header.find(' ');
    if (sp == std::string_view::npos || !iequals(header.substr(0, sp), "bytes"))
        return bad("not a bytes Content-Range: " + std::string(header.substr(0, 64)));
    const std::string_view rest = header.substr(sp + 1);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return bad("Content-Range without '/'");
    const std::string_view range = rest.substr(0, slash), length = rest.substr(slash + 1);
    ContentRange out;
    if (length != "*") {
        out.total = number(length);
        if (!out.total) return bad("bad complete length in Content-Range");
    }
    if (range == "*") {
        if (!out.total) return bad("Content-Range */* says nothing");
        return out;
    }
    out.span = span(range);
    if (!out.span) return bad("bad range in Content-Range");
    if (out.total && out.span->last >= *out.total) return bad("Content-Range beyond its complete length");
    return out;
}

std::string format_content_range(const ByteSpan& span, std::uint64_t total) {
    return "bytes " + std::to_string(span.first) + "-" + std::to_string(span.last) + "/" +
           std::to_string(total);
}

std::string format_unsatisfied_range(std::uint64_t total) { return "bytes */" + std::to_string(total); }

Result<ByteSpan> resolve_range(const RangeSpec& range, std::uint64_t total) {
    const auto unsatisfiable = [&](std::string what) {
        return Error{kRangeNotSatisfiable, what + " (the resource has " + std::to_string(total) + " bytes)"};
    };
    if (range.suffix) {
        if (*range.suffix == 0) return unsatisfiable("an empty suffix range selects nothing");
        if (total == 0) return unsatisfiable("the resource is empty");
        return ByteSpan{total - std::min(*range.suffix, total), total - 1};
    }
    if (range.last && *range.last < range.first) return bad("range ends before it starts");
    if (range.first >= total)
        return unsatisfiable("the range starts at " + std::to_string(range.first) + ", past the end");
    const std::uint64_t last = range.last ? std::min(*range.last, total - 1) : total - 1;
    return ByteSpan{range.first, last};
}

}  // namespace xpmn::relay
