// The TOML state files of the state directory (trust store, grants): a list
// of `[[RECORD]]` tables whose values are all strings. Loading reports every
// problem at once with file:line (a syntax error, another table, a value that
// is not a string, a missing or unknown key, a bad value the caller finds) and
// never drops an entry silently; saving is atomic (common/atomic_file).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xpmn::common {

struct StateFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxStateFileBytes = 4 * 1024 * 1024;

// One [[RECORD]] table being read.
class StateRecord {
public:
    StateRecord(std::string path, std::size_t line, std::vector<std::string>& errors)
        : path_(std::move(path)), line_(line), errors_(errors) {}
    void add_field(std::string key, std::string value, std::size_t line);

    // The value of `key`; an error when it is required and absent.
    std::optional<std::string> get(std::string_view key, bool required = true);
    // Reports `message` at the key's line (the record's when the key is absent).
    void error(std::string_view key, const std::string& message);
    // Unknown keys are errors; true when this record had none of any kind.
    bool finish();

private:
    struct Field {
        std::string value;
        std::size_t line;
        bool read = false;
    };
    std::string path_;
    std::size_t line_;
    std::vector<std::string>& errors_;
    std::map<std::string, Field, std::less<>> fields_;
    bool failed_ = false;
};

// Reads every [[record]] of `path` through `read`; a missing file has none.
// Throws StateFileError listing every problem (one per line), or saying why
// the file cannot be read.
void read_state_file(const std::string& path, std::string_view record,
                     const std::function<void(StateRecord&)>& read);

// (key, value) pairs, written in this order.
using StateFields = std::vector<std::pair<std::string, std::string>>;
// Replaces `path` atomically with `comment` (each line prefixed "# ") and
// the records. Throws FileError.
void write_state_file(const std::string& path, std::string_view comment, std::string_view record,
                      const std::vector<StateFields>& records);

}  // namespace xpmn::common
