#include "xmpp/xml/attribute_scanner.hpp"

namespace xpmn::xml {
namespace {

constexpr std::string_view kCdataOpen = "[CDATA[";  // after "<!"

}  // namespace

void AttributeScanner::reset() {
    state_ = State::Text;
    quote_ = 0;
    count_ = 0;
    matched_ = 0;
}

bool AttributeScanner::tag_byte(char c) {
    if (c == '>') {
        state_ = State::Text;
    } else if (c == '\'' || c == '"') {
        quote_ = c;
        state_ = State::Quote;
    } else if (c == '=') {
        return ++count_ > max_;
    }
    return false;
}

bool AttributeScanner::closes(char c, char twice) {
    if (c == twice) {
        matched_ = matched_ < 2 ? matched_ + 1 : 2;
        return false;
    }
    bool done = c == '>' && matched_ == 2;
    matched_ = 0;
    return done;
}

std::size_t AttributeScanner::scan(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        switch (state_) {
            case State::Text:
                if (c == '<') state_ = State::Open;
                break;
            case State::Open:  // just after '<'
                if (c == '!') {
                    state_ = State::Bang;
                } else if (c == '?') {
                    state_ = State::Pi;
                    matched_ = 0;
                } else {
                    state_ = State::Tag;  // start or end tag (an end tag has no '='); c is its first byte
                    count_ = 0;
                    if (tag_byte(c)) return i;
                }
                break;
            case State::Bang:  // "<!": a CDATA section, a comment or a declaration
                matched_ = 1;
                state_ = c == '[' ? State::CdataOpen : c == '-' ? State::CommentOpen : c == '>' ? State::Text : State::Decl;
                break;
            case State::CdataOpen:  // "<![" ... up to "<![CDATA["
                if (c == kCdataOpen[matched_]) {
                    if (++matched_ == kCdataOpen.size()) {
                        state_ = State::Cdata;
                        matched_ = 0;
                    }
                } else {
                    state_ = c == '>' ? State::Text : State::Decl;  // not well-formed: skip like a declaration
                }
                break;
            case State::CommentOpen:  // "<!-"
                matched_ = 0;
                state_ = c == '-' ? State::Comment : c == '>' ? State::Text : State::Decl;
                break;
            case State::Tag:
                if (tag_byte(c)) return i;
                break;
            case State::Quote:
                if (c == quote_) state_ = State::Tag;
                break;
            case State::Cdata:
                if (closes(c, ']')) state_ = State::Text;  // "]]>"
                break;
            case State::Comment:
                if (closes(c, '-')) state_ = State::Text;  // "-->"
                break;
            case State::Pi:  // until "?>"
                if (c == '>' && matched_ == 1) state_ = State::Text;
                matched_ = c == '?' ? 1 : 0;
                break;
            case State::Decl:  // a DTD or declaration (restricted anyway): until '>'
                if (c == '>') state_ = State::Text;
                break;
        }
    }
    return std::string_view::npos;
}

}  // namespace xpmn::xml
