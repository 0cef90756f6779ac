#include "xmpp/xml/element.hpp"

#include <algorithm>

namespace xpmn::xml {

Element::Element(std::string name, std::string ns) : name_(std::move(name)), ns_(std::move(ns)) {}

std::optional<std::string> Element::attr(std::string_view name) const {
    for (const auto& [k, v] : attrs_)
        if (k == name) return v;
    return std::nullopt;
}

std::string Element::attr_or(std::string_view name, std::string_view fallback) const {
    auto v = attr(name);
    return v ? *v : std::string(fallback);
}

Element& Element::set_attr(std::string_view name, std::string_view value) {
    for (auto& [k, v] : attrs_)
        if (k == name) {
            v = value;
            return *this;
        }
    attrs_.emplace_back(std::string(name), std::string(value));
    return *this;
}

Element& Element::append_attr(std::string name, std::string value) {
    attrs_.emplace_back(std::move(name), std::move(value));
    return *this;
}

bool Element::remove_attr(std::string_view name) {
    auto it = std::remove_if(attrs_.begin(), attrs_.end(), [&](const auto& a) { return a.first == name; });
    bool removed = it != attrs_.end();
    attrs_.erase(it, attrs_.end());
    return removed;
}

Element& Element::add_child(Element child) {
    if (child.ns_.empty()) child.ns_ = ns_;
    nodes_.emplace_back(std::move(child));
    return std::get<Element>(nodes_.back());
}

Element& Element::add(std::string name, std::string ns) {
    return add_child(Element(std::move(name), std::move(ns)));
}

Element& Element::add_text(std::string_view text) {
    if (text.empty()) return *this;
    if (!nodes_.empty())
        if (auto* s = std::get_if<std::string>(&nodes_.back())) {
            s->append(text);
            return *this;
        }
    nodes_.emplace_back(std::string(text));
    return *this;
}

Element& Element::add_text_child(std::string name, std::string_view text, std::string ns) {
    add(std::move(name), std::move(ns)).add_text(text);
    return *this;
}

std::vector<const Element*> Element::elements() const {
    std::vector<const Element*> out;
    for (const auto& n : nodes_)
        if (auto* e = std::get_if<Element>(&n)) out.push_back(e);
    return out;
}

static bool matches(const Element& e, std::string_view name, std::string_view ns, std::string_view own_ns) {
    return e.name() == name && (ns.empty() ? e.ns() == own_ns : e.ns() == ns);
}

const Element* Element::child(std::string_view name, std::string_view ns) const {
    for (const auto& n : nodes_)
        if (auto* e = std::get_if<Element>(&n); e && matches(*e, name, ns, ns_)) return e;
    return nullptr;
}

Element* Element::child(std::string_view name, std::string_view ns) {
    return const_cast<Element*>(std::as_const(*this).child(name, ns));
}

std::vector<const Element*> Element::children(std::string_view name, std::string_view ns) const {
    std::vector<const Element*> out;
    for (const auto& n : nodes_)
        if (auto* e = std::get_if<Element>(&n); e && matches(*e, name, ns, ns_)) out.push_back(e);
    return out;
}

const Element* Element::first_element() const {
    for (const auto& n : nodes_)
        if (auto* e = std::get_if<Element>(&n)) return e;
    return nullptr;
}

bool Element::remove_children(std::string_view name, std::string_view ns) {
    auto before = nodes_.size();
    std::erase_if(nodes_, [&](const Node& n) {
        auto* e = std::get_if<Element>(&n);
        return e && matches(*e, name, ns, ns_);
    });
    return nodes_.size() != before;
}

std::string Element::text() const {
    std::string out;
    for (const auto& n : nodes_)
        if (auto* s = std::get_if<std::string>(&n)) out += *s;
    return out;
}

std::string Element::child_text(std::string_view name, std::string_view ns) const {
    const Element* c = child(name, ns);
    return c ? c->text() : std::string();
}

// XML 1.0 Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// Input is UTF-8; invalid sequences and forbidden characters are dropped.
void append_escaped(std::string& out, std::string_view text, EscapeFor where) {
    const bool attribute = where == EscapeFor::Attribute;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '\'': out += "&apos;"; break;
                case '"': out += "&quot;"; break;
                case '\r': out += "&#13;"; break;
                case '\n': out += attribute ? "&#10;" : "\n"; break;
                case '\t': out += attribute ? "&#9;" : "\t"; break;
                default:
                    if (c >= 0x20) out += static_cast<char>(c);
            }
            ++p;
            continue;
        }
        int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || end - p < len) { ++p; continue; }
        char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
        bool ok = true;
        for (int i = 1; i < len; ++i) {
            if ((p[i] & 0xC0) != 0x80) { ok = false; break; }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        ok = ok && cp >= min_for_len[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
             cp != 0xFFFE && cp != 0xFFFF;
        if (ok) out.append(reinterpret_cast<const char*>(p), len);
        p += ok ? len : 1;
    }
}

std::string escape(std::string_view text, EscapeFor where) {
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text, where);
    return out;
}

void Element::serialize_to(std::string& out, std::string_view parent_ns) const {
    out += '<';
    out += name_;
    if (ns_ != parent_ns) {
        out += " xmlns='";
        append_escaped(out, ns_, EscapeFor::Attribute);
        out += '\'';
    }
    for (const auto& [k, v] : attrs_) {
        out += ' ';
        out += k;
        out += "='";
        append_escaped(out, v, EscapeFor::Attribute);
        out += '\'';
    }
    if (nodes_.empty()) {
        out += "/>";
        return;
    }
    out += '>';
    for (const auto& n : nodes_) {
        if (auto* e = std::get_if<Element>(&n))
            e->serialize_to(out, ns_);
        else
            append_escaped(out, std::get<std::string>(n));
    }
    out += "</";
    out += name_;
    out += '>';
}

std::string Element::to_string(std::string_view parent_ns) const {
    std::string out;
    serialize_to(out, parent_ns);
    return out;
}

}  // namespace xpmn::xml
