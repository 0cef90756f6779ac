#include "xmpp/core/base64.hpp"

#include <openssl/evp.h>

namespace xpmn {

namespace {

bool in_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Error bad(std::string text) { return Error{"bad-request", "not base64: " + std::move(text)}; }

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    std::string clean;
    clean.reserve(text.size());
    std::size_t pad = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (is_xml_space(c)) continue;
        if (c == '=') {
            ++pad;
        } else if (!in_alphabet(c)) {
            return bad("character " + std::to_string(static_cast<unsigned char>(c)) + " at offset " +
                       std::to_string(i) + " is outside the alphabet");
        } else if (pad > 0) {
            return bad("'=' before the end at offset " + std::to_string(i));
        }
        clean += c;
    }
    if (clean.size() % 4 != 0)
        return bad("length " + std::to_string(clean.size()) + " (without whitespace) is not a multiple of 4");
    if (pad > 2) return bad("more than two '=' of padding");
    if (clean.empty()) return std::string();
    std::string out(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0 || static_cast<std::size_t>(n) < pad) return bad("malformed");
    out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
    return out;
}

}  // namespace xpmn
