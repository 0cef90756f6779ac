#include "common/utc_time.hpp"

#include <cctype>
#include <cstdio>

namespace xpmn::common {
namespace {

// `n` digits at text[pos], or -1.
int digits(std::string_view text, std::size_t pos, std::size_t n) {
    if (pos + n > text.size()) return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

bool expect(std::string_view text, std::size_t pos, char c) { return pos < text.size() && text[pos] == c; }

}  // namespace

std::string format_utc(SystemTime t) {
    using namespace std::chrono;
    auto secs = floor<seconds>(t);
    auto day = floor<days>(secs);
    year_month_day ymd{day};
    hh_mm_ss hms{secs - day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()));
    return buf;
}

std::optional<SystemTime> parse_rfc3339(std::string_view text) {
    using namespace std::chrono;
    int y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    int h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || !expect(text, 4, '-') || !expect(text, 7, '-') ||
        !(expect(text, 10, 'T') || expect(text, 10, 't')) || !expect(text, 13, ':') || !expect(text, 16, ':'))
        return std::nullopt;
    if (h > 23 || mi > 59 || s > 60) return std::nullopt;  // 60: a leap second, read as :59 + 1
    year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
    if (!ymd.ok()) return std::nullopt;
    std::size_t pos = 19;
    if (expect(text, pos, '.')) {
        std::size_t start = ++pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
        if (pos == start) return std::nullopt;
    }
    int offset_minutes = 0;
    if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
        ++pos;
    } else if (expect(text, pos, '+') || expect(text, pos, '-')) {
        int oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
        if (oh < 0 || om < 0 || !expect(text, pos + 3, ':') || oh > 23 || om > 59) return std::nullopt;
        offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} - minutes{offset_minutes};
}

}  // namespace xpmn::common
