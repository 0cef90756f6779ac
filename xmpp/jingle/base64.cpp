#include "xmpp/jingle/base64.hpp"

#include <openssl/evp.h>

namespace xpmn::jingle {

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

static bool in_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string clean;
    clean.reserve(text.size());
    for (char c : text)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') clean += c;
    if (clean.size() % 4 != 0) return std::nullopt;
    std::size_t pad = 0;
    for (std::size_t i = 0; i < clean.size(); ++i) {
        char c = clean[i];
        if (c == '=') {
            // Only as the last one or two characters.
            if (i + 2 < clean.size()) return std::nullopt;
            ++pad;
        } else if (!in_alphabet(c) || pad > 0) {
            return std::nullopt;
        }
    }
    if (clean.empty()) return std::string();
    std::string out(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
    return out;
}

}  // namespace xpmn::jingle
