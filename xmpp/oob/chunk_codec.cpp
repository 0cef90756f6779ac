#include "xmpp/oob/chunk_codec.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace xpmn::oob {

namespace {

bool is_id_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string byte_name(char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(c));
    return buf;
}

void append_header(std::string& out, std::size_t size, std::string_view id) {
    if (!is_valid_id(id)) throw std::invalid_argument("OOB chunk: invalid id");
    char hex[16];
    int n = std::snprintf(hex, sizeof hex, "%zx", size);
    out.append(hex, static_cast<std::size_t>(n));
    out += ' ';
    out += id;
    out += "\r\n";
}

}  // namespace

bool is_valid_id(std::string_view id) {
    return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), is_id_char);
}

void append_chunk(std::string& out, std::string_view id, std::string_view data) {
    if (data.empty() || data.size() > kMaxChunkSize) throw std::invalid_argument("OOB chunk: size out of 1..65536");
    append_header(out, data.size(), id);
    out += data;
    out += "\r\n";
}

void append_end(std::string& out, std::string_view id) {
    append_header(out, 0, id);
    out += "\r\n";
}

Error ChunkParser::fail(std::string text) {
    state_ = State::failed;
    error_ = Error{"bad-request", "OOB framing: " + std::move(text)};
    return error_;
}

Result<std::optional<ChunkParser::Event>> ChunkParser::next(std::string_view& in) {
    using Kind = Event::Kind;
    while (!in.empty()) {
        if (state_ == State::failed) return error_;
        if (state_ == State::data) {
            std::size_t n = std::min(remaining_, in.size());
            std::string_view piece = in.substr(0, n);
            in.remove_prefix(n);
            remaining_ -= n;
            if (remaining_ == 0) state_ = State::data_cr;
            return std::optional<Event>(Event{Kind::data, id_, piece});
        }
        char c = in.front();
        in.remove_prefix(1);
        switch (state_) {
        case State::size:
            if (c == ' ' && digits_ > 0) {
                id_.clear();
                state_ = State::id;
            } else if (int v = hex_value(c); v >= 0) {
                if (++digits_ > kMaxSizeDigits)
                    return fail("chunk size longer than " + std::to_string(kMaxSizeDigits) + " hex digits");
                size_ = size_ * 16 + static_cast<std::size_t>(v);
                if (size_ > kMaxChunkSize)
                    return fail("chunk larger than " + std::to_string(kMaxChunkSize) + " bytes");
            } else {
                return fail(digits_ == 0 && c == ' ' ? "chunk size missing"
                                                     : "bad character " + byte_name(c) + " in the chunk size");
            }
            break;
        case State::id:
            if (c == '\r' && !id_.empty()) {
                state_ = State::header_lf;
            } else if (!is_id_char(c)) {
                return fail(id_.empty() ? "chunk id missing" : "bad character " + byte_name(c) + " in chunk id");
            } else if (id_.size() == kMaxIdLength) {
                return fail("chunk id longer than " + std::to_string(kMaxIdLength) + " characters");
            } else {
                id_ += c;
            }
            break;
        case State::header_lf:
            if (c != '\n') return fail("chunk header of id " + id_ + " not ended by CRLF");
            remaining_ = size_;
            state_ = size_ == 0 ? State::end_cr : State::data;
            break;
        case State::data_cr:
        case State::end_cr:
            if (c != '\r')
                return fail(state_ == State::end_cr
                                ? "end of id " + id_ + " not followed by CRLF"
                                : "chunk of id " + id_ + " longer than its size or not ended by CRLF");
            state_ = state_ == State::end_cr ? State::end_lf : State::data_lf;
            break;
        case State::data_lf:
        case State::end_lf: {
            if (c != '\n') return fail("CR without LF after a chunk of id " + id_);
            bool end = state_ == State::end_lf;
            state_ = State::size;
            digits_ = 0;
            size_ = 0;
            if (end) return std::optional<Event>(Event{Kind::end, id_, {}});
            break;
        }
        case State::data:
        case State::failed:
            break;  // handled above the switch
        }
    }
    if (state_ == State::failed) return error_;
    return std::optional<Event>();
}

}  // namespace xpmn::oob
