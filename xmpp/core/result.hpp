// The one shape of an asynchronous outcome (docs/architecture.md, "Errors"):
// a value or an Error. An Error is an RFC 6120 stanza error condition plus a
// text for humans, so it can go onto the wire as it is (wire profile §8:
// every error carries a <text/>) and lower layers never invent a second
// vocabulary. Setup code (constructors, config loading) still throws.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace xpmn {

struct Error {
    std::string condition;  // bad-request, item-not-found, remote-server-timeout, …
    std::string text;       // what went wrong, for humans

    // "condition: text" (or the condition alone), for logs and CLI messages.
    std::string describe() const { return text.empty() ? condition : condition + ": " + text; }
};

// Result<T>: T or Error. Converts implicitly from both, so a function
// returns `value` or `Error{…}` and a callback is called the same way.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// An outcome without a value: success or an Error.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const {
        assert(failed_);
        return error_;
    }

private:
    Error error_;
    bool failed_ = false;
};

}  // namespace xpmn
