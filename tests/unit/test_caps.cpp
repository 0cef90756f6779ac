// disco#info <-> Element and the XEP-0115 verification string, checked
// against the XEP's own generation examples (§5.2 simple, §5.3 complex).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "xmpp/core/disco_info.hpp"

using namespace xpmn;
using disco::Identity;
using disco::Info;

namespace {

constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kData = "jabber:x:data";

xml::Element field(std::string var, std::vector<std::string> values, std::string type = {}) {
    xml::Element f("field", kData);
    f.set_attr("var", var);
    if (!type.empty()) f.set_attr("type", type);
    for (auto& v : values) f.add_text_child("value", v);
    return f;
}

// The XEP-0128 form of XEP-0115 §5.3.
xml::Element softwareinfo_form() {
    xml::Element x("x", kData);
    x.set_attr("type", "result");
    x.add_child(field("FORM_TYPE", {"urn:xmpp:dataforms:softwareinfo"}, "hidden"));
    x.add_child(field("ip_version", {"ipv4", "ipv6"}));
    x.add_child(field("os", {"Mac"}));
    x.add_child(field("os_version", {"10.5.1"}));
    x.add_child(field("software", {"Psi"}));
    x.add_child(field("software_version", {"0.11"}));
    return x;
}

Info simple_example() {
    return Info{{{"client", "pc", "", "Exodus 0.9.1"}},
                {"http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
                 "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc"},
                {}};
}

// The disco#info <query/> of XEP-0115 §5.3, built as a parser would deliver it.
xml::Element complex_query() {
    xml::Element q("query", kDiscoInfo);
    q.set_attr("node", "http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w=");
    q.add("identity").set_attr("xml:lang", "en").set_attr("category", "client").set_attr("name", "Psi 0.11").set_attr(
        "type", "pc");
    q.add("identity")
        .set_attr("xml:lang", "el")
        .set_attr("category", "client")
        .set_attr("name", "\u03A8 0.11")
        .set_attr("type", "pc");
    for (const char* f : {"http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
                          "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc"})
        q.add("feature").set_attr("var", f);
    q.add_child(softwareinfo_form());
    return q;
}

}  // namespace

TEST(CapsVer, SimpleGenerationExample) {
    Info info = simple_example();
    EXPECT_EQ(disco::caps_string(info),
              "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
              "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<");
    EXPECT_EQ(disco::caps_ver(info), "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

TEST(CapsVer, ComplexGenerationExample) {
    Info info = disco::from_element(complex_query());
    ASSERT_EQ(info.identities.size(), 2u);
    EXPECT_EQ(info.identities[1], (Identity{"client", "pc", "el", "\u03A8 0.11"}));
    ASSERT_EQ(info.forms.size(), 1u);
    EXPECT_EQ(disco::caps_string(info),
              "client/pc/el/\u03A8 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<"
              "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
              "http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<"
              "ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<");
    EXPECT_EQ(disco::caps_ver(info), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

TEST(CapsVer, InputOrderDoesNotMatter) {
    Info info = disco::from_element(complex_query());
    std::reverse(info.identities.begin(), info.identities.end());
    std::reverse(info.features.begin(), info.features.end());
    xml::Element x("x", kData);
    x.add_child(field("software_version", {"0.11"}));
    x.add_child(field("ip_version", {"ipv6", "ipv4"}));
    x.add_child(field("os_version", {"10.5.1"}));
    x.add_child(field("FORM_TYPE", {"urn:xmpp:dataforms:softwareinfo"}, "hidden"));
    x.add_child(field("software", {"Psi"}));
    x.add_child(field("os", {"Mac"}));
    info.forms = {x};
    EXPECT_EQ(disco::caps_ver(info), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

TEST(CapsVer, FormsWithoutHiddenFormTypeAreIgnored) {
    Info info = simple_example();
    xml::Element no_type("x", kData);
    no_type.add_child(field("os", {"Mac"}));
    xml::Element not_hidden("x", kData);
    not_hidden.add_child(field("FORM_TYPE", {"urn:example"}));
    not_hidden.add_child(field("os", {"Mac"}));
    info.forms = {no_type, not_hidden};
    EXPECT_EQ(disco::caps_ver(info), "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

TEST(CapsVer, FormsAreSortedByFormType) {
    auto form = [](std::string type, std::string value) {
        xml::Element x("x", kData);
        x.add_child(field("FORM_TYPE", {type}, "hidden"));
        x.add_child(field("f", {value}));
        return x;
    };
    Info info{{{"client", "pc", "", ""}}, {}, {form("urn:b", "2"), form("urn:a", "1")}};
    EXPECT_EQ(disco::caps_string(info), "client/pc//<urn:a<f<1<urn:b<f<2<");
}

TEST(CapsVer, IllFormedInfoIsRejected) {
    Info dup_identity = simple_example();
    dup_identity.identities.push_back(dup_identity.identities.front());
    EXPECT_THROW(disco::caps_ver(dup_identity), std::invalid_argument);

    Info dup_feature = simple_example();
    dup_feature.features.push_back("http://jabber.org/protocol/muc");
    EXPECT_THROW(disco::caps_ver(dup_feature), std::invalid_argument);

    Info dup_form = simple_example();
    dup_form.forms = {softwareinfo_form(), softwareinfo_form()};
    EXPECT_THROW(disco::caps_ver(dup_form), std::invalid_argument);

    Info two_values = simple_example();
    xml::Element x("x", kData);
    x.add_child(field("FORM_TYPE", {"urn:a", "urn:b"}, "hidden"));
    two_values.forms = {x};
    EXPECT_THROW(disco::caps_ver(two_values), std::invalid_argument);

    // The same value twice is not "different XML character data".
    xml::Element same("x", kData);
    same.add_child(field("FORM_TYPE", {"urn:a", "urn:a"}, "hidden"));
    two_values.forms = {same};
    EXPECT_EQ(disco::caps_string(two_values).substr(disco::caps_string(simple_example()).size()), "urn:a<");
}

TEST(CapsVer, LiteralLtEntityStaysLiteral) {
    // XEP-0115: "&lt;" in data is four characters, never turned into '<'.
    Info a{{{"client", "pc", "", "SomeClient&lt;http://jabber.org/protocol/muc"}}, {}, {}};
    Info b{{{"client", "pc", "", "SomeClient"}}, {"http://jabber.org/protocol/muc"}, {}};
    EXPECT_NE(disco::caps_ver(a), disco::caps_ver(b));
}

TEST(DiscoInfo, ToElementSerialization) {
    auto q = disco::to_element(simple_example(), "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=");
    EXPECT_EQ(q.to_string(),
              "<query xmlns='http://jabber.org/protocol/disco#info' "
              "node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>"
              "<identity category='client' type='pc' name='Exodus 0.9.1'/>"
              "<feature var='http://jabber.org/protocol/caps'/>"
              "<feature var='http://jabber.org/protocol/disco#info'/>"
              "<feature var='http://jabber.org/protocol/disco#items'/>"
              "<feature var='http://jabber.org/protocol/muc'/>"
              "</query>");
    EXPECT_FALSE(disco::to_element(simple_example()).attr("node"));
}

TEST(DiscoInfo, RoundTrip) {
    Info original = disco::from_element(complex_query());
    xml::Element q = disco::to_element(original, "http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w=");
    EXPECT_EQ(q.name(), "query");
    EXPECT_EQ(q.ns(), kDiscoInfo);
    EXPECT_NE(q.to_string().find("<x xmlns='jabber:x:data' type='result'>"), std::string::npos) << q.to_string();
    EXPECT_NE(q.to_string().find("xml:lang='el'"), std::string::npos);

    Info back = disco::from_element(q);
    EXPECT_EQ(back.identities, original.identities);
    EXPECT_EQ(back.features, original.features);
    ASSERT_EQ(back.forms.size(), 1u);
    EXPECT_EQ(back.forms[0].to_string(), original.forms[0].to_string());
    EXPECT_EQ(disco::caps_ver(back), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
    EXPECT_EQ(disco::to_element(back, "http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w=").to_string(), q.to_string());
}

TEST(DiscoInfo, FromElementValidation) {
    EXPECT_THROW(disco::from_element(xml::Element("query", "http://jabber.org/protocol/disco#items")),
                 std::invalid_argument);
    EXPECT_THROW(disco::from_element(xml::Element("x", kDiscoInfo)), std::invalid_argument);

    xml::Element no_type("query", kDiscoInfo);
    no_type.add("identity").set_attr("category", "client");
    EXPECT_THROW(disco::from_element(no_type), std::invalid_argument);

    xml::Element no_var("query", kDiscoInfo);
    no_var.add("feature");
    EXPECT_THROW(disco::from_element(no_var), std::invalid_argument);

    xml::Element extra("query", kDiscoInfo);
    extra.add("identity").set_attr("category", "gateway").set_attr("type", "xmpp");
    extra.add("something", "urn:example:other");
    extra.add("x", "urn:not:data:forms");
    Info info = disco::from_element(extra);
    EXPECT_EQ(info.identities.size(), 1u);
    EXPECT_TRUE(info.features.empty());
    EXPECT_TRUE(info.forms.empty());
}

TEST(DiscoInfo, CapsElement) {
    auto c = disco::caps_element(simple_example(), "http://code.google.com/p/exodus");
    EXPECT_EQ(c.to_string(),
              "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' "
              "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>");
}
