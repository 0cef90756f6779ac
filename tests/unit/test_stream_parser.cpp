#include "xmpp/xml/stream_parser.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using xpmn::xml::Element;
using xpmn::xml::StreamError;
using xpmn::xml::StreamLimits;
using xpmn::xml::StreamParser;

namespace {

const std::string kHeader =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.org' version='1.0'>";

// Records every callback as a line of text so runs can be compared exactly.
struct Harness {
    explicit Harness(StreamLimits limits = {})
        : parser({
                     [this](const Element& h, const std::string& ns) {
                         events.push_back("open " + h.to_string() + " content=" + ns);
                         headers.push_back(h);
                     },
                     [this](Element e) {
                         events.push_back("element " + e.to_string("jabber:client"));
                         if (on_element) on_element(e);
                         stanzas.push_back(std::move(e));
                     },
                     [this] { events.push_back("close"); },
                     [this](const StreamError& e) {
                         events.push_back("error " + e.condition);
                         errors.push_back(e);
                     },
                 },
                 limits) {}

    std::vector<std::string> events;
    std::vector<Element> headers;
    std::vector<Element> stanzas;
    std::vector<StreamError> errors;
    std::function<void(const Element&)> on_element;
    StreamParser parser;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string recorded() { return read_file(std::string(XPMN_TEST_DATA) + "/recorded_session.xml"); }

std::vector<std::string> parse_whole(const std::string& data) {
    Harness h;
    h.parser.feed(data);
    return h.events;
}

// Heap bytes in use according to glibc, including large mmap()ed blocks,
// which uordblks alone leaves out. (ASan has its own allocator, which this
// does not see, so under ASan the memory checks pass trivially.)
long heap_in_use() {
    struct mallinfo2 mi = mallinfo2();
    return static_cast<long>(mi.uordblks + mi.hblkhd);
}

std::string nested(int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "<a>";
    for (int i = 0; i < depth; ++i) s += "</a>";
    return s;
}

void feed_in_two(Harness& h, const std::string& data, std::size_t split) {
    h.parser.feed(data.substr(0, split));
    h.parser.feed(data.substr(split));
}

void expect_single_error(const Harness& h, const std::string& condition) {
    ASSERT_EQ(h.errors.size(), 1u) << (h.errors.empty() ? "" : h.errors[0].text);
    EXPECT_EQ(h.errors[0].condition, condition) << h.errors[0].text;
    EXPECT_TRUE(h.parser.failed());
}

}  // namespace

// ---- 1. recorded session, split every way ----

TEST(StreamParser, RecordedSessionWhole) {
    Harness h;
    h.parser.feed(recorded());
    ASSERT_TRUE(h.errors.empty()) << h.errors[0].text;
    EXPECT_FALSE(h.parser.failed());
    ASSERT_EQ(h.headers.size(), 1u);
    ASSERT_EQ(h.stanzas.size(), 7u);
    EXPECT_EQ(h.events.back(), "close");

    const Element& hdr = h.headers[0];
    EXPECT_EQ(hdr.name(), "stream");
    EXPECT_EQ(hdr.ns(), "http://etherx.jabber.org/streams");
    EXPECT_EQ(hdr.attr_or("from"), "example.org");
    EXPECT_EQ(hdr.attr_or("version"), "1.0");
    EXPECT_EQ(hdr.attr_or("xml:lang"), "en");
    EXPECT_TRUE(hdr.nodes().empty());
    EXPECT_NE(h.events[0].find("content=jabber:client"), std::string::npos);

    const Element& features = h.stanzas[0];
    EXPECT_EQ(features.name(), "features");
    EXPECT_EQ(features.ns(), "http://etherx.jabber.org/streams");
    EXPECT_NE(features.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"), nullptr);
    EXPECT_NE(features.child("sm", "urn:xmpp:sm:3"), nullptr);
    const Element* mechs = features.child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl");
    ASSERT_NE(mechs, nullptr);
    EXPECT_EQ(mechs->children("mechanism").size(), 3u);
    EXPECT_EQ(mechs->children("mechanism")[2]->text(), "PLAIN");
    EXPECT_EQ(mechs->children("mechanism")[2]->ns(), "urn:ietf:params:xml:ns:xmpp-sasl");

    const Element& iq = h.stanzas[1];
    EXPECT_EQ(iq.ns(), "jabber:client");
    EXPECT_EQ(iq.child("bind", "urn:ietf:params:xml:ns:xmpp-bind")->child_text("jid"), "juliet@example.org/balcony");

    const Element& presence = h.stanzas[2];
    EXPECT_EQ(presence.attr_or("xml:lang"), "en");
    EXPECT_EQ(presence.child_text("show"), "away");
    const Element* caps = presence.child("c", "http://jabber.org/protocol/caps");
    ASSERT_NE(caps, nullptr);
    EXPECT_EQ(caps->attr_or("ver"), "QgayPKawpkPSDYmwT/WM94uAlu0=");

    const Element& msg = h.stanzas[3];
    EXPECT_EQ(msg.child_text("body"),
              "Grüße aus Köln – 日本語 😀 & <b> \u263A \u2603 \"ok\" 'yes'");
    EXPECT_EQ(msg.child("stanza-id", "urn:xmpp:sid:0")->attr_or("id"), "m-1 & 2");

    // Prefixed child from another namespace; its unprefixed child is back in jabber:client.
    const Element& version_iq = h.stanzas[4];
    const Element* query = version_iq.child("query", "jabber:iq:version");
    ASSERT_NE(query, nullptr);
    EXPECT_NE(query->child("name"), nullptr);
    EXPECT_NE(query->child("version", "jabber:client"), nullptr);
    EXPECT_EQ(version_iq.to_string("jabber:client"),
              "<iq type='get' id='ver_1' from='romeo@example.net/orchard' to='juliet@example.org/balcony'>"
              "<query xmlns='jabber:iq:version'><name/><version xmlns='jabber:client'/></query></iq>");

    const Element& event_msg = h.stanzas[5];
    const Element* item = event_msg.child("event", "http://jabber.org/protocol/pubsub#event")
                              ->child("items")
                              ->child("item");
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->ns(), "http://jabber.org/protocol/pubsub#event");
    EXPECT_NE(item->child("metadata", "urn:xmpp:avatar:metadata"), nullptr);

    EXPECT_EQ(h.stanzas[6].name(), "r");
    EXPECT_EQ(h.stanzas[6].ns(), "urn:xmpp:sm:3");
}

TEST(StreamParser, RecordedSessionSplitAtEveryPosition) {
    const std::string data = recorded();
    const auto expected = parse_whole(data);
    for (std::size_t i = 0; i <= data.size(); ++i) {
        Harness h;
        h.parser.feed(std::string_view(data).substr(0, i));
        h.parser.feed(std::string_view(data).substr(i));
        ASSERT_EQ(h.events, expected) << "split at " << i;
    }
}

TEST(StreamParser, RecordedSessionByteByByteDeliversEachStanzaOnItsLastByte) {
    const std::string data = recorded();
    const auto expected = parse_whole(data);

    Harness h;
    std::vector<std::size_t> delivered_at;  // bytes fed when each stanza arrived
    h.on_element = [&](const Element&) { delivered_at.push_back(0); };
    for (std::size_t i = 0; i < data.size(); ++i) {
        std::size_t before = delivered_at.size();
        h.parser.feed(std::string_view(&data[i], 1));
        for (std::size_t k = before; k < delivered_at.size(); ++k) delivered_at[k] = i + 1;
    }
    ASSERT_EQ(h.events, expected);
    ASSERT_EQ(delivered_at.size(), 7u);

    // Each stanza fires on its closing '>' and not one byte earlier.
    for (std::size_t k = 0; k < delivered_at.size(); ++k) {
        std::size_t end = delivered_at[k];
        EXPECT_EQ(data[end - 1], '>');
        Harness prefix;
        prefix.parser.feed(std::string_view(data).substr(0, end - 1));
        EXPECT_EQ(prefix.stanzas.size(), k) << "stanza " << k;
    }
}

TEST(StreamParser, StanzaDeliveredBeforeAnyFurtherByte) {
    Harness h;
    h.parser.feed(kHeader);
    h.parser.feed("<message to='a@b'><body>hi</body></message");
    EXPECT_TRUE(h.stanzas.empty());
    h.parser.feed(">");
    ASSERT_EQ(h.stanzas.size(), 1u);
    h.parser.feed("<presence/>");
    ASSERT_EQ(h.stanzas.size(), 2u);
    h.parser.feed("<iq type='get' id='1'/>\r");  // trailing CR is held back by libxml2
    ASSERT_EQ(h.stanzas.size(), 3u);
    h.parser.feed("</stream:stream>");
    EXPECT_EQ(h.events.back(), "close");
    EXPECT_TRUE(h.errors.empty());
}

TEST(StreamParser, HeaderWithoutXmlDeclaration) {
    Harness h;
    h.parser.feed(
        "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' "
        "xml:lang='de' id='x'>");
    ASSERT_EQ(h.headers.size(), 1u);
    EXPECT_EQ(h.events[0],
              "open <stream xmlns='http://etherx.jabber.org/streams' xml:lang='de' id='x'/> content=jabber:server");
}

TEST(StreamParser, InputAfterCloseIsIgnored) {
    Harness h;
    h.parser.feed(kHeader + "</stream:stream><garbage");
    h.parser.feed("more garbage <!-- -->");
    EXPECT_EQ(h.events.back(), "close");
    EXPECT_TRUE(h.errors.empty());
    EXPECT_FALSE(h.parser.failed());
}

// ---- 2./3. restricted XML ----

TEST(StreamParser, BillionLaughsIsRestrictedAndNotExpanded) {
    std::string doc = "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n";
    doc += " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n";
    for (int i = 2; i <= 9; ++i) {
        std::string prev = "&lol" + std::to_string(i - 1) + ";";
        doc += " <!ENTITY lol" + std::to_string(i) + " \"";
        for (int k = 0; k < 10; ++k) doc += prev;
        doc += "\">\n";
    }
    doc += "]>\n<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
           "<message><body>&lol9;</body></message>";

    long before = heap_in_use();
    Harness h;
    h.parser.feed(doc);
    h.parser.feed(kHeader + "<message><body>&lol9;</body></message>");
    EXPECT_LT(heap_in_use() - before, 1L << 20);
    expect_single_error(h, "restricted-xml");
    EXPECT_TRUE(h.headers.empty());
    EXPECT_TRUE(h.stanzas.empty());

    // Same document one byte at a time.
    Harness slow;
    for (char c : doc) slow.parser.feed(std::string_view(&c, 1));
    expect_single_error(slow, "restricted-xml");
}

TEST(StreamParser, ProcessingInstructionIsRestricted) {
    Harness h;
    h.parser.feed(kHeader + "<message/><?evil stuff?><message/>");
    EXPECT_EQ(h.stanzas.size(), 1u);
    expect_single_error(h, "restricted-xml");
    h.parser.feed("<message/>");
    EXPECT_EQ(h.stanzas.size(), 1u);
    EXPECT_EQ(h.errors.size(), 1u);

    Harness before_root;
    before_root.parser.feed("<?xml version='1.0'?><?xml-stylesheet href='x.xsl'?>" + kHeader.substr(21));
    expect_single_error(before_root, "restricted-xml");

    Harness inside;
    inside.parser.feed(kHeader + "<message><body>a<?pi?></body></message>");
    expect_single_error(inside, "restricted-xml");
    EXPECT_TRUE(inside.stanzas.empty());
}

TEST(StreamParser, CommentIsRestricted) {
    Harness h;
    h.parser.feed(kHeader + "<!-- hello -->");
    expect_single_error(h, "restricted-xml");

    Harness inside;
    inside.parser.feed(kHeader + "<message><!-- x --></message>");
    expect_single_error(inside, "restricted-xml");
    EXPECT_TRUE(inside.stanzas.empty());
}

TEST(StreamParser, DtdIsRestricted) {
    Harness internal;
    internal.parser.feed("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ELEMENT x ANY>]>" + kHeader.substr(21));
    expect_single_error(internal, "restricted-xml");
    EXPECT_TRUE(internal.headers.empty());

    // An external subset is neither loaded nor allowed.
    Harness external;
    external.parser.feed("<!DOCTYPE stream SYSTEM 'http://127.0.0.1:1/evil.dtd'>" + kHeader.substr(21));
    expect_single_error(external, "restricted-xml");
}

TEST(StreamParser, UndeclaredEntityReferenceIsRestricted) {
    Harness h;
    h.parser.feed(kHeader + "<message><body>&xxe;</body></message>");
    expect_single_error(h, "restricted-xml");
    EXPECT_TRUE(h.stanzas.empty());

    Harness attr;
    attr.parser.feed(kHeader + "<message to='&xxe;'/>");
    expect_single_error(attr, "restricted-xml");
}

// After the stream has started a DTD or markup declaration is in content,
// where it is not even well-formed; RFC 6120 §11.1 still calls it restricted
// XML (the wire profile too), whatever the split of the input.
TEST(StreamParser, DtdAfterStreamStartIsRestricted) {
    const std::vector<std::string> cases = {
        "<!DOCTYPE stream:stream>",
        "<!DOCTYPE x [<!ENTITY a 'b'>]>",
        "<!ENTITY xxe SYSTEM 'file:///etc/passwd'>",
        "<!ELEMENT x ANY>",
        "<!ATTLIST message x CDATA #IMPLIED>",
        "<!NOTATION n SYSTEM 'x'>",
        "<message><!DOCTYPE x></message>",
        "<message><body>hi<!ENTITY a 'b'></body></message>",
    };
    for (const auto& c : cases) {
        std::string data = kHeader + c;
        for (std::size_t split = kHeader.size(); split <= data.size(); ++split) {
            Harness h;
            feed_in_two(h, data, split);
            SCOPED_TRACE(c + " split at " + std::to_string(split));
            expect_single_error(h, "restricted-xml");
            EXPECT_TRUE(h.stanzas.empty());
        }
    }
    // Other malformed markup stays not-well-formed.
    Harness other;
    other.parser.feed(kHeader + "<!FOO bar>");
    expect_single_error(other, "not-well-formed");
    Harness bang;
    bang.parser.feed(kHeader + "<message><!x></message>");
    expect_single_error(bang, "not-well-formed");
}

// ---- 4./6. size limit ----

TEST(StreamParser, HugeStanzaIsPolicyViolationWithBoundedMemory) {
    const std::size_t total = 10u << 20;
    std::string big(total, 'a');
    const std::string_view open_tags = "<message><body>";

    Harness h;
    h.parser.feed(kHeader);
    long before = heap_in_use();
    h.parser.feed(open_tags);
    for (std::size_t off = 0; off < total; off += 64 * 1024)
        h.parser.feed(std::string_view(big).substr(off, 64 * 1024));
    h.parser.feed("</body></message>");
    long growth = heap_in_use() - before;
    EXPECT_LT(growth, 2L << 20) << growth;
    expect_single_error(h, "policy-violation");
    EXPECT_TRUE(h.stanzas.empty());

    // Also as a single feed() call and as a giant attribute (buffered by libxml2 until '>').
    Harness one;
    one.parser.feed(kHeader + "<message><body>" + big);
    expect_single_error(one, "policy-violation");
    Harness attr;
    attr.parser.feed(kHeader + "<message to='" + big);
    expect_single_error(attr, "policy-violation");
}

std::string stanza_of_size(std::size_t n) {
    const std::string head = "<message><body>", tail = "</body></message>";
    return head + std::string(n - head.size() - tail.size(), 'x') + tail;
}

TEST(StreamParser, StanzaSizeBoundary) {
    for (std::size_t limit : {std::size_t{1000}, std::size_t{5000}, StreamLimits{}.max_stanza_bytes}) {
        StreamLimits limits;
        limits.max_stanza_bytes = limit;
        {
            Harness h(limits);
            h.parser.feed(kHeader + stanza_of_size(limit) + stanza_of_size(limit));
            h.parser.feed(stanza_of_size(limit));
            EXPECT_TRUE(h.errors.empty()) << limit;
            EXPECT_EQ(h.stanzas.size(), 3u) << limit;
        }
        {
            // Keepalive whitespace between stanzas does not count against the next one.
            Harness h(limits);
            h.parser.feed(kHeader + stanza_of_size(limit) + "\n \n" + stanza_of_size(limit));
            EXPECT_TRUE(h.errors.empty()) << limit;
            EXPECT_EQ(h.stanzas.size(), 2u) << limit;
        }
        {
            Harness h(limits);
            h.parser.feed(kHeader + stanza_of_size(limit) + stanza_of_size(limit + 1));
            expect_single_error(h, "policy-violation");
            EXPECT_EQ(h.stanzas.size(), 1u) << limit;
        }
        {
            Harness h(limits);  // first stanza right after the header
            h.parser.feed(kHeader);
            h.parser.feed(stanza_of_size(limit + 1));
            expect_single_error(h, "policy-violation");
        }
    }
}

TEST(StreamParser, OversizedHeaderIsPolicyViolation) {
    StreamLimits limits;
    limits.max_stanza_bytes = 1000;
    Harness h(limits);
    h.parser.feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' id='" + std::string(2000, 'x') + "'>");
    expect_single_error(h, "policy-violation");
    EXPECT_TRUE(h.headers.empty());
}

TEST(StreamParser, LongRunOfKeepalivesIsFine) {
    StreamLimits limits;
    limits.max_stanza_bytes = 1000;
    Harness h(limits);
    h.parser.feed(kHeader);
    for (int i = 0; i < 5000; ++i) h.parser.feed(" ");
    h.parser.feed(std::string(10000, '\n'));
    h.parser.feed("<presence/>");
    EXPECT_TRUE(h.errors.empty());
    EXPECT_EQ(h.stanzas.size(), 1u);
}

TEST(StreamParser, UniqueNamesCannotGrowTheNameDictionaryForever) {
    Harness h;
    h.parser.feed(kHeader);
    long before = heap_in_use(), peak = 0;
    for (int i = 0; i < 20000 && !h.parser.failed(); ++i) {
        h.parser.feed("<e" + std::to_string(i) + std::string(1000, 'x') + "/>");
        h.stanzas.clear();
        h.events.clear();
        peak = std::max(peak, heap_in_use() - before);
    }
    EXPECT_LT(peak, 4L << 20);  // ~22 MB with libxml2's default dictionary limit
    expect_single_error(h, "resource-constraint");
}

TEST(StreamParser, LongStreamWithVaryingValuesIsFine) {
    Harness h;
    h.parser.feed(kHeader);
    for (int i = 0; i < 20000; ++i) {
        std::string n = std::to_string(i);
        h.parser.feed("<message id='m" + n + "' from='user" + n + "@example.org/r" + n + "'><body>" + n +
                      std::string(100, 'z') + "</body></message>");
        h.stanzas.clear();
        h.events.clear();
    }
    EXPECT_TRUE(h.errors.empty());
}

// ---- 5. depth limit ----

TEST(StreamParser, DeepNestingIsPolicyViolation) {
    Harness h;
    h.parser.feed(kHeader + nested(10000));
    expect_single_error(h, "policy-violation");
    EXPECT_TRUE(h.stanzas.empty());
}

TEST(StreamParser, DepthBoundary) {
    Harness ok;
    ok.parser.feed(kHeader + nested(64));
    EXPECT_TRUE(ok.errors.empty());
    EXPECT_EQ(ok.stanzas.size(), 1u);

    Harness bad;
    bad.parser.feed(kHeader + nested(65));
    expect_single_error(bad, "policy-violation");
    EXPECT_TRUE(bad.stanzas.empty());

    StreamLimits limits;
    limits.max_depth = 3;
    Harness small(limits);
    small.parser.feed(kHeader + nested(3) + nested(4));
    EXPECT_EQ(small.stanzas.size(), 1u);
    expect_single_error(small, "policy-violation");
}

// ---- attribute limit ----

std::string with_attributes(int n, const std::string& name = "a") {
    std::string s = "<message";
    for (int i = 0; i < n; ++i) s += " " + name + std::to_string(i) + "='v'";
    return s + "/>";
}

TEST(StreamParser, AttributeBoundary) {
    Harness ok;
    ok.parser.feed(kHeader + with_attributes(64));
    EXPECT_TRUE(ok.errors.empty());
    ASSERT_EQ(ok.stanzas.size(), 1u);
    EXPECT_EQ(ok.stanzas[0].attrs().size(), 64u);
    EXPECT_EQ(ok.stanzas[0].attr("a0"), "v");
    EXPECT_EQ(ok.stanzas[0].attr("a63"), "v");

    Harness bad;
    bad.parser.feed(kHeader + with_attributes(65));
    expect_single_error(bad, "policy-violation");
    EXPECT_TRUE(bad.stanzas.empty());

    // Namespace declarations count too: each is one more attribute to libxml2.
    std::string decls = "<message";
    for (int i = 0; i < 65; ++i) decls += " xmlns:p" + std::to_string(i) + "='urn:x:" + std::to_string(i) + "'";
    Harness ns;
    ns.parser.feed(kHeader + decls + "/>");
    expect_single_error(ns, "policy-violation");

    StreamLimits limits;
    limits.max_attributes = 2;
    Harness small(limits);
    small.parser.feed(kHeader + "<message a='1' b='2'><x c='3' d='4' e='5'/></message>");
    expect_single_error(small, "policy-violation");
    EXPECT_TRUE(small.stanzas.empty());
}

// The parser appends attributes without looking for an earlier one of the same
// name: that is safe only because a repeated attribute never gets that far.
TEST(StreamParser, RepeatedAttributeIsNotWellFormed) {
    for (std::string stanza : {"<message a='1' a='2'/>", "<message xml:lang='en' xml:lang='de'/>",
                               "<message xmlns:p='urn:x' xmlns:q='urn:x' p:a='1' q:a='2'/>"}) {
        Harness h;
        h.parser.feed(kHeader + stanza);
        SCOPED_TRACE(stanza);
        expect_single_error(h, "not-well-formed");
        EXPECT_TRUE(h.stanzas.empty());
    }
    Harness lang;
    lang.parser.feed(kHeader + "<message xml:lang='en' lang='de'/>");
    ASSERT_EQ(lang.stanzas.size(), 1u);
    EXPECT_EQ(lang.stanzas[0].attr("xml:lang"), "en");
    EXPECT_EQ(lang.stanzas[0].attr("lang"), "de");
}

TEST(StreamParser, StreamHeaderCountsAgainstTheAttributeLimit) {
    std::string header = kHeader.substr(0, kHeader.size() - 1);
    for (int i = 0; i < 70; ++i) header += " a" + std::to_string(i) + "='v'";
    Harness h;
    h.parser.feed(header + ">");
    expect_single_error(h, "policy-violation");
    EXPECT_TRUE(h.headers.empty());
}

// The hostile server's stanza: ~27 000 attributes in 256 KiB. It is refused as
// soon as its start tag is parsed, nothing of it is delivered, and the stream
// ignores what follows.
TEST(StreamParser, StanzaWithThousandsOfAttributesIsPolicyViolation) {
    std::string s = "<iq type='get' id='x'";
    for (int i = 0; s.size() < 250 * 1024; ++i) s += " a" + std::to_string(i) + "=''";
    s += "><ping xmlns='urn:xmpp:ping'/></iq>";
    Harness h;
    h.parser.feed(kHeader + s + "<message/>");
    expect_single_error(h, "policy-violation");
    EXPECT_TRUE(h.stanzas.empty());
}

// The tag is refused before libxml2 parses it (the raw bytes are counted), yet
// what came before it is delivered, however the input is split.
TEST(StreamParser, AttributeLimitAtEverySplit) {
    const std::string ok = "<message id='1'><body>a=b &gt; c</body></message>";
    const std::string data = kHeader + ok + with_attributes(65) + "<message id='2'/>";
    for (std::size_t split = 0; split <= data.size(); ++split) {
        Harness h;
        feed_in_two(h, data, split);
        SCOPED_TRACE("split at " + std::to_string(split));
        ASSERT_EQ(h.stanzas.size(), 1u);
        EXPECT_EQ(h.stanzas[0].attr("id"), "1");
        expect_single_error(h, "policy-violation");
    }
}

// Only an '=' between attributes counts: not one in a value, in text or in a CDATA section.
TEST(StreamParser, AttributeCountIgnoresEqualsSignsElsewhere) {
    std::string values = "<message";
    for (int i = 0; i < 64; ++i) values += " a" + std::to_string(i) + (i % 2 ? "='x=y>z==\"'" : "=\"p='q'=>\"");
    values += "/>";
    std::string fake_tag = "<x";
    for (int i = 0; i < 100; ++i) fake_tag += " b" + std::to_string(i) + "='1'";
    fake_tag += ">";
    const std::string cdata = "<message><body><![CDATA[" + fake_tag + " ]] > ]]]></body></message>";
    const std::string text = "<message><body>" + std::string(200, '=') + "</body></message>";
    const std::string data = kHeader + values + cdata + text;
    for (std::size_t split = kHeader.size(); split <= data.size(); split += 7) {
        Harness h;
        feed_in_two(h, data, split);
        SCOPED_TRACE("split at " + std::to_string(split));
        EXPECT_TRUE(h.errors.empty()) << h.errors[0].text;
        ASSERT_EQ(h.stanzas.size(), 3u);
        EXPECT_EQ(h.stanzas[0].attrs().size(), 64u);
        EXPECT_EQ(h.stanzas[0].attr("a1"), "x=y>z==\"");
        EXPECT_EQ(h.stanzas[1].child_text("body"), fake_tag + " ]] > ]");
    }
}

// Many elements each with many (allowed) attributes: every attribute arrives once, in order.
TEST(StreamParser, ManyAttributesOnManyElementsArriveInOrder) {
    std::string s = "<message>";
    for (int e = 0; e < 200; ++e) s += with_attributes(64, "e" + std::to_string(e) + "_").replace(1, 7, "x");
    s += "</message>";
    Harness h;
    h.parser.feed(kHeader + s);
    EXPECT_TRUE(h.errors.empty());
    ASSERT_EQ(h.stanzas.size(), 1u);
    auto xs = h.stanzas[0].elements();
    ASSERT_EQ(xs.size(), 200u);
    for (int e = 0; e < 200; ++e) {
        const auto& attrs = xs[e]->attrs();
        ASSERT_EQ(attrs.size(), 64u);
        for (int i = 0; i < 64; ++i)
            EXPECT_EQ(attrs[i].first, "e" + std::to_string(e) + "_" + std::to_string(i));
    }
}

// ---- 7. reset ----

TEST(StreamParser, ResetFromCallbackAfterProceed) {
    Harness h;
    h.on_element = [&](const Element& e) {
        if (e.name() == "proceed") h.parser.reset();
    };
    h.parser.feed(kHeader + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
    // The rest of this feed (here: bytes that are not XML at all) is dropped.
    const char tls_bytes[] = {'\x16', '\x03', '\x01', '\x02', '\x00', '<', '&', '\xff'};
    h.parser.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + std::string(tls_bytes, sizeof tls_bytes));
    EXPECT_EQ(h.stanzas.size(), 2u);
    EXPECT_TRUE(h.errors.empty());
    EXPECT_FALSE(h.parser.failed());

    h.parser.feed(kHeader + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>");
    EXPECT_TRUE(h.errors.empty());
    ASSERT_EQ(h.headers.size(), 2u);
    ASSERT_EQ(h.stanzas.size(), 3u);
    EXPECT_NE(h.stanzas[2].child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl"), nullptr);
}

TEST(StreamParser, ResetFromCallbackSplitAtEveryPosition) {
    const std::string data = kHeader + "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    const std::string second = kHeader + "<stream:features/><presence/>";
    for (std::size_t i = 0; i <= second.size(); ++i) {
        Harness h;
        h.on_element = [&](const Element& e) {
            if (e.name() == "success") h.parser.reset();
        };
        h.parser.feed(data);
        h.parser.feed(second.substr(0, i));
        h.parser.feed(second.substr(i));
        ASSERT_TRUE(h.errors.empty()) << i;
        ASSERT_EQ(h.headers.size(), 2u) << i;
        ASSERT_EQ(h.stanzas.size(), 3u) << i;
    }
}

TEST(StreamParser, ResetOutsideCallbacksAndAfterErrors) {
    Harness h;
    h.parser.feed(kHeader + "<message><body>half");
    h.parser.reset();
    h.parser.feed(kHeader + "<presence/>");
    EXPECT_EQ(h.stanzas.size(), 1u);
    EXPECT_EQ(h.headers.size(), 2u);

    h.parser.feed("<bad attr=>");
    expect_single_error(h, "not-well-formed");
    h.parser.reset();
    EXPECT_FALSE(h.parser.failed());
    h.parser.feed(kHeader + "<presence/>");
    EXPECT_EQ(h.stanzas.size(), 2u);
    EXPECT_EQ(h.errors.size(), 1u);
}

TEST(StreamParser, ResetFromOnOpenAndOnClose) {
    StreamParser* p = nullptr;
    int opens = 0, elements = 0, closes = 0;
    StreamParser parser({[&](const Element&, const std::string&) {
                             if (++opens == 1) p->reset();
                         },
                         [&](Element) { ++elements; },
                         [&] {
                             ++closes;
                             p->reset();
                         },
                         nullptr});
    p = &parser;
    parser.feed(kHeader + "<presence/>");  // reset on the first header drops the rest
    EXPECT_EQ(opens, 1);
    EXPECT_EQ(elements, 0);
    parser.feed(kHeader + "<presence/></stream:stream>" + kHeader + "<presence/>");
    EXPECT_EQ(opens, 2);
    EXPECT_EQ(elements, 1);
    EXPECT_EQ(closes, 1);
    parser.feed(kHeader + "<presence/>");  // a new stream after the close-triggered reset
    EXPECT_EQ(opens, 3);
    EXPECT_EQ(elements, 2);
    EXPECT_FALSE(parser.failed());
}

TEST(StreamParser, ExceptionFromCallbackPropagates) {
    StreamParser parser({nullptr, [](Element) { throw std::runtime_error("boom"); }, nullptr, nullptr});
    EXPECT_THROW(parser.feed(kHeader + "<presence/><presence/>"), std::runtime_error);
    EXPECT_TRUE(parser.failed());
    parser.feed("<presence/>");  // ignored, no crash
    parser.reset();
    EXPECT_FALSE(parser.failed());
}

// ---- 8. not-well-formed ----

TEST(StreamParser, GarbageIsNotWellFormed) {
    for (std::string bad : {
             std::string("hello world"),
             std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a TLS ClientHello
             kHeader + "<message><body>x</msg>",
             kHeader + "<message to='a' to='b'/>",
             kHeader + "<message><body>bad \xff\xfe utf-8</body></message>",
             kHeader + "<message>a & b;</message>",  // libxml2 waits for a ';' after '&'
             kHeader + "<x:message/>",  // undeclared prefix
             kHeader + "<?xml version='1.0'?>",
             kHeader + "</stream:features>",
             kHeader + "</message>",
         }) {
        SCOPED_TRACE(bad);
        Harness h;
        h.parser.feed(bad);
        h.parser.feed("<presence/></stream:stream><more/>");
        expect_single_error(h, "not-well-formed");
        EXPECT_TRUE(h.stanzas.empty()) << bad;

        Harness slow;
        for (char c : bad + "<presence/></stream:stream><more/>") slow.parser.feed(std::string_view(&c, 1));
        expect_single_error(slow, "not-well-formed");
    }
}

TEST(StreamParser, CorruptedInputNeverCrashesAndErrsAtMostOnce) {
    const std::string data = recorded();
    std::mt19937 rng(12345);
    const std::string specials = "<>&;/'\"=![]?-:x \xC3\xA9\xFF";
    for (int round = 0; round < 3000; ++round) {
        std::string d = data;
        int edits = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < edits; ++k) {
            std::size_t pos = rng() % d.size();
            switch (rng() % 3) {
                case 0: d[pos] = specials[rng() % specials.size()]; break;
                case 1: d.erase(pos, 1 + rng() % 8); break;
                default: d.insert(pos, 1, specials[rng() % specials.size()]);
            }
        }
        Harness h;
        h.on_element = [&](const Element& e) {
            if (e.name() == "iq" && rng() % 4 == 0) h.parser.reset();
        };
        for (std::size_t off = 0; off < d.size();) {
            std::size_t n = 1 + rng() % 64;
            h.parser.feed(std::string_view(d).substr(off, n));
            off += n;
        }
        ASSERT_LE(h.errors.size(), 1u) << d;
        if (!h.errors.empty()) {
            EXPECT_EQ(h.events.back().rfind("error ", 0), 0u) << d;  // nothing after the error
        }
    }
}

TEST(StreamParser, WrongRootElement) {
    Harness wrong_ns;
    wrong_ns.parser.feed("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:client'>");
    expect_single_error(wrong_ns, "invalid-namespace");

    Harness no_ns;
    no_ns.parser.feed("<html><body/></html>");
    expect_single_error(no_ns, "invalid-namespace");

    Harness wrong_name;
    wrong_name.parser.feed("<stream:flow xmlns:stream='http://etherx.jabber.org/streams'>");
    expect_single_error(wrong_name, "bad-format");
}

TEST(StreamParser, RelativeNamespaceUriIsOnlyAWarning) {
    Harness h;
    h.parser.feed(kHeader + "<message><x xmlns='relative'/></message>");
    EXPECT_TRUE(h.errors.empty());
    ASSERT_EQ(h.stanzas.size(), 1u);
    EXPECT_NE(h.stanzas[0].child("x", "relative"), nullptr);
}

// ---- 9. text decoding ----

TEST(StreamParser, EscapesAndUtf8SplitInsideCharacters) {
    const std::string data = kHeader +
                             "<message><body>a &amp; b &lt; c &gt; &#x263A;&#9786; &quot;&apos; "
                             "\xE2\x98\xBA \xF0\x9F\x98\x80 \xC3\xA9</body><x xmlns='urn:x'><![CDATA[<raw> & ]]></x>"
                             "</message>";
    for (std::size_t i = 0; i <= data.size(); ++i) {
        Harness h;
        h.parser.feed(data.substr(0, i));
        h.parser.feed(data.substr(i));
        ASSERT_TRUE(h.errors.empty()) << i;
        ASSERT_EQ(h.stanzas.size(), 1u) << i;
        ASSERT_EQ(h.stanzas[0].child_text("body"), "a & b < c > \u263A\u263A \"' \u263A \U0001F600 \u00E9") << i;
        ASSERT_EQ(h.stanzas[0].child_text("x", "urn:x"), "<raw> & ") << i;
    }
}

TEST(StreamParser, EscapesInAttributes) {
    Harness h;
    h.parser.feed(kHeader +
                  "<message to='a&amp;b &#38; &#x26; &lt;&gt; &amp;#38; &quot;&apos; &#x263A; \xC3\xA9' "
                  "id=\"&amp;\"/>");
    ASSERT_EQ(h.stanzas.size(), 1u);
    EXPECT_EQ(h.stanzas[0].attr_or("to"), "a&b & & <> &#38; \"' \u263A \u00E9");
    EXPECT_EQ(h.stanzas[0].attr_or("id"), "&");
    EXPECT_EQ(h.stanzas[0].to_string("jabber:client"),
              "<message to='a&amp;b &amp; &amp; &lt;&gt; &amp;#38; &quot;&apos; \u263A \u00E9' id='&amp;'/>");
}

// A stanza the parser delivered, serialized again (as the router forwards it),
// must parse to the same stanza: CR from CDATA or a character reference, and
// tab/LF/CR in attribute values, would otherwise be normalized away.
TEST(StreamParser, SerializedStanzaParsesBackUnchanged) {
    Harness first;
    first.parser.feed(kHeader + "<message id='a&#9;b&#10;c&#13;d'><body><![CDATA[l1\r\nl2\r]]>&#13;\tx</body></message>");
    ASSERT_EQ(first.stanzas.size(), 1u);
    EXPECT_EQ(first.stanzas[0].attr_or("id"), "a\tb\nc\rd");
    EXPECT_NE(first.stanzas[0].child_text("body").find('\r'), std::string::npos);
    const std::string once = first.stanzas[0].to_string("jabber:client");

    Harness second;
    second.parser.feed(kHeader + once);
    ASSERT_EQ(second.stanzas.size(), 1u);
    EXPECT_EQ(second.stanzas[0].to_string("jabber:client"), once);
}

TEST(StreamParser, StrayAmpersandIsBoundedByTheSizeLimit) {
    // libxml2 waits for a ';' before parsing a reference, so this is not an
    // error yet, but it cannot buffer more than the size limit.
    StreamLimits limits;
    limits.max_stanza_bytes = 10000;
    Harness h(limits);
    h.parser.feed(kHeader + "<message><body>a & b</body></message>");
    EXPECT_TRUE(h.errors.empty());
    for (int i = 0; i < 1000; ++i) h.parser.feed("<presence/>");
    expect_single_error(h, "policy-violation");
}

TEST(StreamParser, ElementInNoNamespaceKeepsIt) {
    Harness h;
    h.parser.feed(kHeader + "<message><x xmlns=''><y/></x></message>");
    ASSERT_EQ(h.stanzas.size(), 1u);
    const Element* x = h.stanzas[0].first_element();
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->ns(), "");
    EXPECT_EQ(x->first_element()->ns(), "");
    EXPECT_EQ(h.stanzas[0].to_string("jabber:client"), "<message><x xmlns=''><y/></x></message>");
}
