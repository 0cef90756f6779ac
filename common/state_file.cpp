#include "common/state_file.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <sstream>
#include <sys/stat.h>

#include "common/atomic_file.hpp"

namespace xpmn::common {

void StateRecord::add_field(std::string key, std::string value, std::size_t line) {
    fields_[std::move(key)] = Field{std::move(value), line};
}

std::optional<std::string> StateRecord::get(std::string_view key, bool required) {
    auto it = fields_.find(key);
    if (it == fields_.end()) {
        if (required) error(key, "missing '" + std::string(key) + "'");
        return std::nullopt;
    }
    it->second.read = true;
    return it->second.value;
}

void StateRecord::error(std::string_view key, const std::string& message) {
    auto it = fields_.find(key);
    std::size_t line = it == fields_.end() ? line_ : it->second.line;
    errors_.push_back(path_ + ":" + std::to_string(line) + ": " + message);
    failed_ = true;
}

bool StateRecord::finish() {
    for (const auto& [key, field] : fields_)
        if (!field.read) error(key, "unknown key '" + key + "'");
    return !failed_;
}

void read_state_file(const std::string& path, std::string_view record,
                     const std::function<void(StateRecord&)>& read) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return;
    std::string text;
    try {
        text = read_file(path, kMaxStateFileBytes);
    } catch (const FileError& e) {
        throw StateFileError(e.what());
    }

    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw StateFileError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                             std::string(e.description()));
    }
    std::vector<std::string> errors;
    auto at = [&](const toml::node& n) { return path + ":" + std::to_string(n.source().begin.line) + ": "; };
    for (const auto& [key, node] : root) {
        if (key.str() != record) {
            errors.push_back(at(node) + "unknown key '" + std::string(key.str()) + "' (only [[" +
                             std::string(record) + "]] tables belong here)");
            continue;
        }
        const toml::array* list = node.as_array();
        if (!list || (!list->empty() && !list->is_array_of_tables())) {
            errors.push_back(at(node) + "'" + std::string(record) + "' must be written as [[" +
                             std::string(record) + "]] tables");
            continue;
        }
        for (const auto& item : *list) {
            StateRecord rec(path, item.source().begin.line, errors);
            bool typed = true;
            for (const auto& [k, v] : *item.as_table()) {
                if (auto s = v.value_exact<std::string>())
                    rec.add_field(std::string(k.str()), *s, v.source().begin.line);
                else {
                    errors.push_back(at(v) + "'" + std::string(k.str()) + "' must be a string");
                    typed = false;
                }
            }
            if (typed) read(rec);
        }
    }
    if (errors.empty()) return;
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    throw StateFileError(message);
}

void write_state_file(const std::string& path, std::string_view comment, std::string_view record,
                      const std::vector<StateFields>& records) {
    toml::array list;
    for (const auto& fields : records) {
        toml::table t;
        for (const auto& [k, v] : fields) t.insert_or_assign(k, v);
        list.push_back(std::move(t));
    }
    toml::table root;
    if (!list.empty()) root.insert(record, std::move(list));
    std::ostringstream out;
    std::istringstream lines{std::string(comment)};
    for (std::string line; std::getline(lines, line);) out << "# " << line << "\n";
    out << "\n" << root << "\n";
    write_file_atomically(path, out.str());
}

}  // namespace xpmn::common
