// Counts the attributes of each start tag in raw XML bytes as they stream by,
// so that a tag with too many is refused before libxml2 parses it: libxml2's
// check for repeated attributes compares each one with all before it, which
// makes a 256 KiB tag of ~27 000 attributes cost a sizeable fraction of a
// second on the one loop.
//
// An attribute is an `=` outside quotes inside a start tag (namespace
// declarations included, as libxml2 counts them). Quotes, CDATA sections,
// comments, processing instructions and declarations are skipped, so valid
// XML is counted exactly; for anything else the count only has to bound what
// libxml2 would see, and libxml2 still judges the input.
#pragma once

#include <cstddef>
#include <string_view>

namespace xpmn::xml {

class AttributeScanner {
public:
    explicit AttributeScanner(int max_attributes) : max_(max_attributes) {}

    // Scans the next bytes of the stream. Returns the offset in `bytes` of the
    // `=` that took a start tag over the limit, or npos. After that it must be reset.
    std::size_t scan(std::string_view bytes);
    void reset();

private:
    bool tag_byte(char c);  // one byte inside a tag; true when the limit is passed
    bool closes(char c, char twice);  // true at the '>' of "]]>" (twice = ']') or "-->" ('-')

    enum class State { Text, Open, Bang, CdataOpen, CommentOpen, Tag, Quote, Cdata, Comment, Pi, Decl };
    int max_;
    State state_ = State::Text;
    char quote_ = 0;
    int count_ = 0;           // attributes of the current start tag
    std::size_t matched_ = 0;  // progress through the current opener / closer
};

}  // namespace xpmn::xml
