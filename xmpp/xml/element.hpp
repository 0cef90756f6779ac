// An XML element as the XMPP layers see it: a namespaced name, attributes,
// and an ordered list of child elements and text. Stanzas, stream features and
// profile payloads are all Elements; serialization escapes everything.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace xpmn::xml {

class Element;
using Node = std::variant<Element, std::string>;  // child element or text

class Element {
public:
    Element() = default;
    explicit Element(std::string name, std::string ns = {});

    const std::string& name() const { return name_; }
    const std::string& ns() const { return ns_; }
    void set_ns(std::string ns) { ns_ = std::move(ns); }

    // Attributes (unprefixed; `xml:lang` is kept under its full name).
    std::optional<std::string> attr(std::string_view name) const;
    std::string attr_or(std::string_view name, std::string_view fallback = {}) const;
    Element& set_attr(std::string_view name, std::string_view value);
    // Adds an attribute the caller knows is not there yet (a parser whose input
    // cannot repeat one): no search, so building an element stays linear.
    Element& append_attr(std::string name, std::string value);
    bool remove_attr(std::string_view name);
    const std::vector<std::pair<std::string, std::string>>& attrs() const { return attrs_; }

    // Children. `ns` empty means "same namespace as this element".
    Element& add_child(Element child);
    Element& add(std::string name, std::string ns = {});  // returns the new child
    Element& add_text(std::string_view text);            // returns *this
    Element& add_text_child(std::string name, std::string_view text, std::string ns = {});  // returns *this

    const std::vector<Node>& nodes() const { return nodes_; }
    std::vector<Node>& nodes() { return nodes_; }
    std::vector<const Element*> elements() const;
    const Element* child(std::string_view name, std::string_view ns = {}) const;
    Element* child(std::string_view name, std::string_view ns = {});
    std::vector<const Element*> children(std::string_view name, std::string_view ns = {}) const;
    const Element* first_element() const;
    bool remove_children(std::string_view name, std::string_view ns = {});

    // Concatenated direct text children.
    std::string text() const;
    // Text of the first child with that name, or empty.
    std::string child_text(std::string_view name, std::string_view ns = {}) const;

    // Serialization. `parent_ns` is the default namespace in scope: xmlns is
    // written only where it differs.
    std::string to_string(std::string_view parent_ns = {}) const;
    void serialize_to(std::string& out, std::string_view parent_ns) const;

private:
    std::string name_;
    std::string ns_;
    std::vector<std::pair<std::string, std::string>> attrs_;
    std::vector<Node> nodes_;
};

// Escapes &, <, >, ' and " and drops characters XML 1.0 forbids. A carriage
// return becomes &#13; (a parser turns a raw one into a line feed), and in an
// attribute value tab and line feed become &#9; / &#10; (a parser turns raw
// ones into spaces) — so what is serialized parses back to the same value.
enum class EscapeFor { Text, Attribute };
void append_escaped(std::string& out, std::string_view text, EscapeFor where = EscapeFor::Text);
std::string escape(std::string_view text, EscapeFor where = EscapeFor::Text);

}  // namespace xpmn::xml
