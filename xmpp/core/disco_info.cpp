#include "xmpp/core/disco_info.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <tuple>

#include "xmpp/core/base64.hpp"
#include "xmpp/core/namespaces.hpp"

namespace xpmn::disco {

namespace {

constexpr const char* kDataForms = "jabber:x:data";

struct Field {
    std::string var;
    std::vector<std::string> values;
};

// One XEP-0128 form as §5.1 step 7 sees it.
struct Form {
    std::string form_type;
    std::vector<Field> fields;  // without FORM_TYPE
};

// The form's hidden FORM_TYPE and other fields, or nullopt if §5.4 says to
// ignore it (no FORM_TYPE field, or one that is not type='hidden').
std::optional<Form> read_form(const xml::Element& x) {
    Form form;
    bool have_type = false;
    for (const xml::Element* f : x.children("field", kDataForms)) {
        Field field{f->attr_or("var"), {}};
        for (const xml::Element* v : f->children("value", kDataForms)) field.values.push_back(v->text());
        if (field.var != "FORM_TYPE") {
            form.fields.push_back(std::move(field));
            continue;
        }
        if (have_type) throw std::invalid_argument("disco#info form with two FORM_TYPE fields");
        have_type = true;
        if (f->attr_or("type") != "hidden" || field.values.empty()) return std::nullopt;
        for (const auto& v : field.values)
            if (v != field.values.front())
                throw std::invalid_argument("disco#info FORM_TYPE with differing values");
        form.form_type = field.values.front();
    }
    if (!have_type) return std::nullopt;
    return form;
}

template <class T>
void require_unique_sorted(const std::vector<T>& sorted, const char* what) {
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        throw std::invalid_argument(std::string("disco#info with a duplicate ") + what);
}

}  // namespace

xml::Element to_element(const Info& info, std::string_view node) {
    xml::Element q("query", ns::disco_info);
    if (!node.empty()) q.set_attr("node", node);
    for (const auto& id : info.identities) {
        auto& e = q.add("identity");
        e.set_attr("category", id.category);
        e.set_attr("type", id.type);
        if (!id.lang.empty()) e.set_attr("xml:lang", id.lang);
        if (!id.name.empty()) e.set_attr("name", id.name);
    }
    for (const auto& f : info.features) q.add("feature").set_attr("var", f);
    for (const auto& form : info.forms) q.add_child(form);
    return q;
}

Info from_element(const xml::Element& query) {
    if (query.name() != "query" || query.ns() != ns::disco_info)
        throw std::invalid_argument("not a disco#info query: <" + query.name() + " xmlns='" + query.ns() + "'>");
    Info info;
    for (const xml::Element* e : query.elements()) {
        if (e->ns() == ns::disco_info && e->name() == "identity") {
            Identity id{e->attr_or("category"), e->attr_or("type"), e->attr_or("xml:lang"), e->attr_or("name")};
            if (id.category.empty() || id.type.empty())
                throw std::invalid_argument("disco#info identity without category or type");
            info.identities.push_back(std::move(id));
        } else if (e->ns() == ns::disco_info && e->name() == "feature") {
            auto var = e->attr("var");
            if (!var || var->empty()) throw std::invalid_argument("disco#info feature without var");
            info.features.push_back(std::move(*var));
        } else if (e->ns() == kDataForms && e->name() == "x") {
            info.forms.push_back(*e);
        }
    }
    return info;
}

std::string caps_string(const Info& info) {
    // All sorting is i;octet (RFC 4790 §9.3): std::string compares bytes as unsigned char.
    auto key = [](const Identity& i) { return std::tie(i.category, i.type, i.lang, i.name); };
    std::vector<Identity> ids = info.identities;
    std::sort(ids.begin(), ids.end(), [&](const Identity& a, const Identity& b) { return key(a) < key(b); });
    require_unique_sorted(ids, "identity");

    std::vector<std::string> features = info.features;
    std::sort(features.begin(), features.end());
    require_unique_sorted(features, "feature");

    std::vector<Form> forms;
    for (const auto& x : info.forms)
        if (auto f = read_form(x)) forms.push_back(std::move(*f));
    std::sort(forms.begin(), forms.end(), [](const Form& a, const Form& b) { return a.form_type < b.form_type; });
    auto same_type = [](const Form& a, const Form& b) { return a.form_type == b.form_type; };
    if (auto dup = std::adjacent_find(forms.begin(), forms.end(), same_type); dup != forms.end())
        throw std::invalid_argument("disco#info with two forms of FORM_TYPE '" + dup->form_type + "'");

    std::string s;
    for (const auto& i : ids) s += i.category + '/' + i.type + '/' + i.lang + '/' + i.name + '<';
    for (const auto& f : features) s += f + '<';
    for (auto& form : forms) {
        s += form.form_type + '<';
        // Values sorted first so that a repeated var still orders deterministically.
        for (auto& field : form.fields) std::sort(field.values.begin(), field.values.end());
        std::sort(form.fields.begin(), form.fields.end(),
                  [](const Field& a, const Field& b) { return std::tie(a.var, a.values) < std::tie(b.var, b.values); });
        for (const auto& field : form.fields) {
            s += field.var + '<';
            for (const auto& v : field.values) s += v + '<';
        }
    }
    return s;
}

std::string caps_ver(const Info& info) {
    std::string s = caps_string(info);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(s.data(), s.size(), md, &md_len, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 digest failed");
    return base64_encode(std::string_view(reinterpret_cast<const char*>(md), md_len));
}

xml::Element caps_element(const Info& info, std::string_view node) {
    xml::Element c("c", ns::caps);
    c.set_attr("hash", "sha-1");
    c.set_attr("node", node);
    c.set_attr("ver", caps_ver(info));
    return c;
}

}  // namespace xpmn::disco
