#include "xmpp/xml/element.hpp"

#include <gtest/gtest.h>

#include <string>

using xpmn::xml::Element;
using xpmn::xml::escape;

TEST(XmlElement, Attributes) {
    Element e("message", "jabber:client");
    EXPECT_EQ(e.name(), "message");
    EXPECT_EQ(e.ns(), "jabber:client");
    EXPECT_FALSE(e.attr("to").has_value());
    EXPECT_EQ(e.attr_or("to", "nobody"), "nobody");

    e.set_attr("to", "a@b").set_attr("type", "chat").set_attr("xml:lang", "en");
    EXPECT_EQ(e.attr("to"), "a@b");
    EXPECT_EQ(e.attr_or("xml:lang"), "en");
    e.set_attr("to", "c@d");  // replaces in place, keeps order
    ASSERT_EQ(e.attrs().size(), 3u);
    EXPECT_EQ(e.attrs()[0].first, "to");
    EXPECT_EQ(e.attrs()[0].second, "c@d");

    EXPECT_TRUE(e.remove_attr("type"));
    EXPECT_FALSE(e.remove_attr("type"));
    EXPECT_EQ(e.to_string(), "<message xmlns='jabber:client' to='c@d' xml:lang='en'/>");
}

TEST(XmlElement, AppendAttrKeepsOrderWithoutLookingBack) {
    Element e("iq");
    e.append_attr("type", "get").append_attr("id", "1");
    ASSERT_EQ(e.attrs().size(), 2u);
    EXPECT_EQ(e.attrs()[0].first, "type");
    EXPECT_EQ(e.attr("id"), "1");
    e.set_attr("type", "set");  // set_attr still finds what append_attr added
    EXPECT_EQ(e.to_string(), "<iq type='set' id='1'/>");
}

TEST(XmlElement, ChildrenInheritNamespace) {
    Element iq("iq", "jabber:client");
    Element& query = iq.add("query", "jabber:iq:roster");
    Element& item = query.add("item");
    EXPECT_EQ(item.ns(), "jabber:iq:roster");
    iq.add_text_child("x", "text");
    EXPECT_EQ(iq.child("x")->ns(), "jabber:client");

    Element explicit_child("c", "http://jabber.org/protocol/caps");
    Element& c = iq.add_child(explicit_child);
    EXPECT_EQ(c.ns(), "http://jabber.org/protocol/caps");
    Element plain("y");
    EXPECT_EQ(iq.add_child(plain).ns(), "jabber:client");
}

TEST(XmlElement, ChildLookup) {
    Element msg("message", "jabber:client");
    msg.add_text_child("body", "one");
    msg.add_text_child("body", "two");
    msg.add("body", "urn:other").add_text("other");
    msg.add("active", "http://jabber.org/protocol/chatstates");

    ASSERT_NE(msg.child("body"), nullptr);
    EXPECT_EQ(msg.child("body")->text(), "one");
    EXPECT_EQ(msg.child_text("body"), "one");
    EXPECT_EQ(msg.child_text("body", "jabber:client"), "one");
    EXPECT_EQ(msg.child_text("body", "urn:other"), "other");
    EXPECT_EQ(msg.children("body").size(), 2u);
    EXPECT_EQ(msg.children("body", "urn:other").size(), 1u);
    EXPECT_EQ(msg.child("active"), nullptr);  // not in the parent's namespace
    EXPECT_NE(msg.child("active", "http://jabber.org/protocol/chatstates"), nullptr);
    EXPECT_EQ(msg.child("missing"), nullptr);
    EXPECT_EQ(msg.child_text("missing"), "");
    EXPECT_EQ(msg.elements().size(), 4u);
    EXPECT_EQ(msg.first_element()->text(), "one");

    // Mutable lookup.
    msg.child("body")->set_attr("xml:lang", "de");
    EXPECT_EQ(msg.child("body")->attr_or("xml:lang"), "de");

    EXPECT_TRUE(msg.remove_children("body"));
    EXPECT_FALSE(msg.remove_children("body"));
    EXPECT_EQ(msg.elements().size(), 2u);
    EXPECT_EQ(msg.child_text("body", "urn:other"), "other");

    Element empty("x");
    EXPECT_EQ(empty.first_element(), nullptr);
}

TEST(XmlElement, TextNodes) {
    Element e("body");
    e.add_text("a").add_text("").add_text("b");
    ASSERT_EQ(e.nodes().size(), 1u);  // adjacent text merged, empty text ignored
    e.add("br");
    e.add_text("c");
    EXPECT_EQ(e.nodes().size(), 3u);
    EXPECT_EQ(e.text(), "abc");
    EXPECT_EQ(e.to_string(), "<body>ab<br/>c</body>");
}

TEST(XmlElement, NamespaceDeclaredOnlyWhereItChanges) {
    Element iq("iq", "jabber:client");
    iq.set_attr("type", "result");
    Element& query = iq.add("query", "jabber:iq:roster");
    query.add("item").set_attr("jid", "a@b");
    iq.add("error").add("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas");

    EXPECT_EQ(iq.to_string(),
              "<iq xmlns='jabber:client' type='result'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query>"
              "<error><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    // Inside a stream whose default namespace is jabber:client the stanza needs no xmlns.
    EXPECT_EQ(iq.to_string("jabber:client").substr(0, 18), "<iq type='result'>");

    std::string out = "prefix:";
    iq.child("query", "jabber:iq:roster")->serialize_to(out, "jabber:iq:roster");
    EXPECT_EQ(out, "prefix:<query><item jid='a@b'/></query>");
}

TEST(XmlElement, ElementWithoutNamespaceUndeclaresDefault) {
    Element parent("x", "urn:a");
    parent.nodes().emplace_back(Element("y"));  // no namespace at all
    EXPECT_EQ(parent.to_string(), "<x xmlns='urn:a'><y xmlns=''/></x>");
    EXPECT_EQ(Element("plain").to_string(), "<plain/>");
}

TEST(XmlElement, EscapesTextAndAttributes) {
    EXPECT_EQ(escape("a & b < c > d ' e \" f"), "a &amp; b &lt; c &gt; d &apos; e &quot; f");
    EXPECT_EQ(escape("]]>"), "]]&gt;");
    EXPECT_EQ(escape("&amp;"), "&amp;amp;");

    Element e("message", "jabber:client");
    e.set_attr("id", "x'y\"z&<>");
    e.add_text_child("body", "<script>alert('&')</script>");
    EXPECT_EQ(e.to_string(),
              "<message xmlns='jabber:client' id='x&apos;y&quot;z&amp;&lt;&gt;'>"
              "<body>&lt;script&gt;alert(&apos;&amp;&apos;)&lt;/script&gt;</body></message>");
}

TEST(XmlElement, KeepsValidUtf8AndAllowedControls) {
    const std::string ok = "tab\tnl\n \x7F é ☺ 😀 \xEE\x80\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF";
    EXPECT_EQ(escape(ok), ok);
}

// A parser normalizes a raw CR to LF everywhere and a raw tab/LF/CR in an
// attribute value to a space; character references survive both (found by
// fuzzing: a CR from a CDATA section changed on a forwarded stanza).
TEST(XmlElement, EscapesWhitespaceAParserWouldNormalize) {
    EXPECT_EQ(escape("a\r\nb\tc"), "a&#13;\nb\tc");
    EXPECT_EQ(escape("a\r\nb\tc", xpmn::xml::EscapeFor::Attribute), "a&#13;&#10;b&#9;c");

    Element e("x");
    e.set_attr("a", "1\t2\n3\r");
    e.add_text("l1\r\nl2");
    EXPECT_EQ(e.to_string(), "<x a='1&#9;2&#10;3&#13;'>l1&#13;\nl2</x>");
}

TEST(XmlElement, DropsForbiddenCharactersAndInvalidUtf8) {
    EXPECT_EQ(escape(std::string("a\0b", 3)), "ab");
    EXPECT_EQ(escape("a\x01\x08\x0B\x0C\x1F" "b"), "ab");
    EXPECT_EQ(escape("a\xEF\xBF\xBE\xEF\xBF\xBF" "b"), "ab");     // U+FFFE, U+FFFF
    EXPECT_EQ(escape("a\xED\xA0\x80\xED\xBF\xBF" "b"), "ab");     // UTF-16 surrogates
    EXPECT_EQ(escape("a\xC0\xAF\xE0\x80\xAF\xF0\x80\x80\xAF" "b"), "ab");  // overlong '/'
    EXPECT_EQ(escape("a\xF4\x90\x80\x80\xF5\x80\x80\x80" "b"), "ab");   // above U+10FFFF
    EXPECT_EQ(escape("a\xF8\x88\x80\x80\x80\xFF\xFE" "b"), "ab");       // 5-byte form, 0xFF/0xFE
    EXPECT_EQ(escape("a\x80\xBF" "b"), "ab");                          // stray continuation bytes
    EXPECT_EQ(escape("a\xE2\x98" "b"), "ab");                          // truncated, then ASCII
    EXPECT_EQ(escape("\xE2\x98"), "");                                 // truncated at the end
    EXPECT_EQ(escape("\xF0\x9F\x98"), "");
    EXPECT_EQ(escape("\xC3"), "");
    EXPECT_EQ(escape("\xC3\xA9\xC3"), "\xC3\xA9");

    Element e("x");
    e.set_attr("a", std::string("v\0\x01\xFF", 4));
    e.add_text("t\x02\xC3(");
    EXPECT_EQ(e.to_string(), "<x a='v'>t(</x>");
}
