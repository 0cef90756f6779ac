// The <security xmlns='urn:xmpp:jingle:security:xtls:0'/> element of a
// Jingle content (wire profile §3.1).
#include <algorithm>
#include <cctype>
#include <optional>

#include "xmpp/xtls/xtls.hpp"

namespace xpmn::xtls {

namespace {

constexpr std::string_view kSha256 = "sha-256";

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == y; });
}

Error bad(std::string text) { return Error{"bad-request", std::move(text)}; }

}  // namespace

std::string_view method_name(Method m) { return m == Method::X509 ? "x509" : "srp"; }

xml::Element make_security(const Security& s) {
    xml::Element e("security", kNs);
    if (!s.fingerprint.empty()) e.add("fingerprint").set_attr("algo", kSha256).add_text(s.fingerprint);
    for (Method m : s.methods) e.add("method").set_attr("name", method_name(m));
    return e;
}

Result<Security> parse_security(const xml::Element& e) {
    if (e.name() != "security" || e.ns() != kNs) return bad("expected <security xmlns='" + std::string(kNs) + "'/>");
    Security out;
    // Other hash algorithms are skipped (only SHA-256 is checked); the first SHA-256 one counts.
    for (const xml::Element* f : e.children("fingerprint")) {
        auto algo = f->attr("algo");
        if (!algo) return bad("<fingerprint/> without algo");
        if (!iequals(*algo, kSha256) || !out.fingerprint.empty()) continue;
        try {
            std::string text = f->text();
            std::erase_if(text, [](unsigned char c) { return std::isspace(c); });  // pretty-printed XML
            out.fingerprint = tls::normalize_fingerprint(text);
        } catch (const tls::TlsError& err) {
            return bad(std::string("bad <fingerprint/>: ") + err.what());
        }
    }
    for (const xml::Element* m : e.children("method")) {
        auto name = m->attr("name");
        if (!name || name->empty()) return bad("<method/> without name");
        std::optional<Method> method;
        if (*name == "x509") method = Method::X509;
        else if (*name == "srp") method = Method::Srp;
        if (method && std::find(out.methods.begin(), out.methods.end(), *method) == out.methods.end())
            out.methods.push_back(*method);
    }
    return out;
}

}  // namespace xpmn::xtls
