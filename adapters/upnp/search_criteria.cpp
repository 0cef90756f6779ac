#include "adapters/upnp/search_criteria.hpp"

#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "xmpp/core/namespaces.hpp"

namespace xpmn::upnp {

namespace {

constexpr std::size_t kMaxCriteria = 4096;  // characters; far beyond any real control point's
constexpr std::size_t kMaxTerms = 16;       // the profile's limit
constexpr std::size_t kMaxNesting = 16;     // parentheses: the parser recurses once per level

struct Token {
    enum Kind { Word, Quoted, Open, Close, End } kind;
    std::string text;
};

// Words (property names, operators, and/or, true/false), quoted strings
// (\" and \\ escapes), parentheses. Error on an unterminated string.
Result<std::vector<Token>> tokenize(std::string_view s) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (std::isspace(c)) {
            ++i;
        } else if (c == '(' || c == ')') {
            out.push_back({c == '(' ? Token::Open : Token::Close, std::string(1, static_cast<char>(c))});
            ++i;
        } else if (c == '"') {
            std::string text;
            ++i;
            bool closed = false;
            while (i < s.size()) {
                if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                    text += s[i + 1];
                    i += 2;
                } else if (s[i] == '"') {
                    closed = true;
                    ++i;
                    break;
                } else {
                    text += s[i++];
                }
            }
            if (!closed) return Error{kCriteriaError, "an unterminated string in the search criteria"};
            out.push_back({Token::Quoted, std::move(text)});
        } else {
            std::size_t start = i;
            while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != '(' && s[i] != ')' &&
                   s[i] != '"')
                ++i;
            out.push_back({Token::Word, std::string(s.substr(start, i - start))});
        }
    }
    out.push_back({Token::End, ""});
    return out;
}

// Characters, not bytes: the profile's limits count characters (UTF-8 code points).
std::size_t characters(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
}

std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

// The profile's class for a UPnP class the export writes (didl_writer), or
// for a `derivedfrom` prefix; nullopt for anything else.
std::optional<std::string> profile_class(const std::string& upnp_class, bool derived) {
    static const std::map<std::string, std::string> exact{{"object.item.audioItem.musicTrack", "audio"},
                                                          {"object.item.videoItem", "video"},
                                                          {"object.item.imageItem.photo", "image"},
                                                          {"object.item", "other"}};
    static const std::map<std::string, std::string> prefixes{{"object.item.audioItem", "audio"},
                                                             {"object.item.videoItem", "video"},
                                                             {"object.item.imageItem", "image"},
                                                             {"object.item", ""}};
    const auto& table = derived ? prefixes : exact;
    auto it = table.find(upnp_class);
    if (it == table.end()) {
        if (derived) {  // a narrower class of one of ours: object.item.audioItem.musicTrack
            for (const auto& [prefix, cls] : exact)
                if (prefix == upnp_class) return cls;
        }
        return std::nullopt;
    }
    return it->second;
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    // searchExp := term (and term)* ; term := '(' searchExp ')' | relExp
    Result<void> expression() {
        for (;;) {
            auto r = term();
            if (!r) return r;
            if (peek().kind == Token::Word && lower(peek().text) == "and") {
                ++pos_;
                continue;
            }
            if (peek().kind == Token::Word && lower(peek().text) == "or")
                return unsupported("'or' (the profile's search is an AND of its terms)");
            return Result<void>();
        }
    }
    bool at_end() const { return tokens_[pos_].kind == Token::End; }
    const Token& peek() const { return tokens_[pos_]; }
    std::vector<std::pair<std::string, std::string>> terms;  // (element, value)
    std::optional<std::string> cls;

private:
    static Error unsupported(const std::string& what) {
        return Error{kCriteriaError, "unsupported search criteria: " + what};
    }
    Result<void> term() {
        if (peek().kind == Token::Open) {
            if (++depth_ > kMaxNesting) return Error{kCriteriaError, "parentheses nested more than 16 deep"};
            ++pos_;
            auto r = expression();
            --depth_;
            if (!r) return r;
            if (peek().kind != Token::Close) return Error{kCriteriaError, "a '(' without its ')' in the search criteria"};
            ++pos_;
            return Result<void>();
        }
        if (peek().kind != Token::Word) return Error{kCriteriaError, "a property name expected in the search criteria"};
        const std::string property = tokens_[pos_++].text;
        if (peek().kind != Token::Word) return Error{kCriteriaError, "an operator expected after " + property};
        const std::string op = tokens_[pos_++].text;
        if (lower(op) == "exists") {
            if (peek().kind != Token::Word) return Error{kCriteriaError, "true or false expected after exists"};
            const std::string value = lower(tokens_[pos_++].text);
            if (value != "true" && value != "false") return Error{kCriteriaError, "true or false expected after exists"};
            // Every item the export writes has these, and none has the others asked about.
            // (Not res: an item whose URL cannot be made has none.)
            const bool always = property == "dc:title" || property == "upnp:class" || property == "@id" ||
                                property == "@parentID";
            const bool never = property == "@refID";
            if ((always && value == "true") || (never && value == "false")) return Result<void>();
            return unsupported(property + " exists " + value);
        }
        if (peek().kind != Token::Quoted) return Error{kCriteriaError, "a quoted value expected after " + op};
        const std::string value = tokens_[pos_++].text;
        if (property == "upnp:class" && (op == "=" || lower(op) == "derivedfrom")) {
            auto c = profile_class(value, lower(op) == "derivedfrom");
            if (!c) return unsupported(property + " " + op + " \"" + value + "\" (only items are searched)");
            if (c->empty()) return Result<void>();  // every item: no class term
            if (cls && *cls != *c) return unsupported("two different classes");
            cls = *c;
            return Result<void>();
        }
        static const std::map<std::string, std::string> text{{"dc:title", "title"},   {"upnp:artist", "artist"},
                                                             {"upnp:album", "album"},  {"upnp:genre", "genre"},
                                                             {"dc:creator", "creator"}};
        auto it = text.find(property);
        if (it == text.end() || lower(op) != "contains")
            return unsupported(property + " " + op + " (only contains on title, artist, album, genre, creator)");
        if (value.empty() || characters(value) > 256) return unsupported("a term of 1 to 256 characters");
        terms.emplace_back(it->second, value);
        return Result<void>();
    }

    std::vector<Token> tokens_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
};

}  // namespace

Result<xml::Element> search_request(std::string_view criteria, const std::string& container, std::uint32_t start,
                                    std::uint32_t max) {
    if (characters(criteria) > kMaxCriteria) return Error{kCriteriaError, "search criteria longer than 4096 characters"};
    auto tokens = tokenize(criteria);
    if (!tokens) return tokens.error();
    if (tokens->size() == 2 && (*tokens)[0].kind == Token::Word && (*tokens)[0].text == "*")
        return Error{kCriteriaError, "unsupported search criteria: * (the profile's search needs a term)"};
    Parser p(std::move(*tokens));
    if (p.at_end()) return Error{kCriteriaError, "empty search criteria"};
    auto r = p.expression();
    if (!r) return r.error();
    if (!p.at_end()) return Error{kCriteriaError, "unexpected '" + p.peek().text + "' in the search criteria"};
    if (p.terms.size() + (p.cls ? 1 : 0) > kMaxTerms) return Error{kCriteriaError, "more than 16 search terms"};
    if (p.terms.empty() && !p.cls)
        return Error{kCriteriaError, "unsupported search criteria: no title, artist, album, genre, creator or class"};
    xml::Element s("search", ns::media_server);
    s.set_attr("container", container);
    s.set_attr("start", std::to_string(start));
    s.set_attr("max", std::to_string(max));
    for (const auto& [name, value] : p.terms) s.add_text_child(name, value);
    if (p.cls) s.add_text_child("class", *p.cls);
    return s;
}

}  // namespace xpmn::upnp
