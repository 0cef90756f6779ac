// Reads typed values out of a TOML table while remembering which keys were
// used, so that unknown keys and wrong types can be reported with file:line.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace xpmn::config {

class TomlReader {
public:
    TomlReader(const toml::table& root, std::string path, std::vector<std::string>& errors)
        : root_(root), path_(std::move(path)), errors_(errors) {}

    // A sub-table; nullptr (and an error if present with another type) when absent.
    const toml::table* table(std::string_view name);
    std::optional<std::string> string(const toml::table* t, std::string_view section, std::string_view key);
    std::optional<std::int64_t> integer(const toml::table* t, std::string_view section, std::string_view key,
                                        std::int64_t min, std::int64_t max);
    std::optional<bool> boolean(const toml::table* t, std::string_view section, std::string_view key);
    std::optional<std::vector<std::string>> strings(const toml::table* t, std::string_view section,
                                                    std::string_view key);

    // Reports every key of the root and of the tables read that was never
    // asked for; with `skip_other_tables`, root tables never read are left alone.
    void report_unknown(bool skip_other_tables = false);
    void error(const toml::source_region& where, const std::string& message);
    std::string where(const toml::source_region& region) const;

private:
    const toml::node* find(const toml::table* t, std::string_view section, std::string_view key);

    const toml::table& root_;
    std::string path_;
    std::vector<std::string>& errors_;
    std::set<std::string> used_;  // "section.key" and "section"
    std::vector<std::pair<std::string, const toml::table*>> tables_;
};

}  // namespace xpmn::config
