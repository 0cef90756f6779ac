#include "xmpp/core/transfer_uri.hpp"

namespace xpmn {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

Result<TransferUri> TransferUri::parse(std::string_view uri) {
    constexpr std::string_view scheme = "xmpp:", query = "?transfer;uid=";
    auto bad = [&](const std::string& why) {
        return Error{"bad-request", "'" + std::string(uri) + "' is not a transfer URI (xmpp:JID?transfer;uid=UID): " + why};
    };
    if (uri.substr(0, scheme.size()) != scheme) return bad("it does not start with xmpp:");
    auto q = uri.find(query);
    if (q == std::string_view::npos) return bad("no ?transfer;uid=");
    auto jid_text = percent_decode(uri.substr(scheme.size(), q - scheme.size()));
    auto uid = percent_decode(uri.substr(q + query.size()));
    if (!jid_text || !uid) return bad("a malformed %-escape");
    if (uid->empty()) return bad("an empty uid");
    auto jid = Jid::parse(*jid_text);
    if (!jid || jid->resource().empty()) return bad("the device must be a full JID");
    return TransferUri{*jid, *uid};
}

std::string TransferUri::str() const { return "xmpp:" + device.str() + "?transfer;uid=" + uid; }

}  // namespace xpmn
