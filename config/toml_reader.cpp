#include "config/toml_reader.hpp"

namespace xpmn::config {

std::string TomlReader::where(const toml::source_region& r) const {
    return path_ + ":" + std::to_string(r.begin.line);
}

void TomlReader::error(const toml::source_region& r, const std::string& message) {
    errors_.push_back(where(r) + ": " + message);
}

const toml::table* TomlReader::table(std::string_view name) {
    used_.insert(std::string(name));
    const toml::node* n = root_.get(name);
    if (!n) return nullptr;
    const toml::table* t = n->as_table();
    if (!t) {
        error(n->source(), "'" + std::string(name) + "' must be a table ([" + std::string(name) + "])");
        return nullptr;
    }
    tables_.emplace_back(std::string(name), t);
    return t;
}

const toml::node* TomlReader::find(const toml::table* t, std::string_view section, std::string_view key) {
    used_.insert(std::string(section) + "." + std::string(key));
    return t ? t->get(key) : nullptr;
}

std::optional<std::string> TomlReader::string(const toml::table* t, std::string_view section, std::string_view key) {
    const toml::node* n = find(t, section, key);
    if (!n) return std::nullopt;
    if (auto v = n->value<std::string>(); v && n->is_string()) return *v;
    error(n->source(), std::string(section) + "." + std::string(key) + " must be a string");
    return std::nullopt;
}

std::optional<std::int64_t> TomlReader::integer(const toml::table* t, std::string_view section, std::string_view key,
                                                std::int64_t min, std::int64_t max) {
    const toml::node* n = find(t, section, key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) {
        error(n->source(), std::string(section) + "." + std::string(key) + " must be an integer");
        return std::nullopt;
    }
    std::int64_t v = *n->value<std::int64_t>();
    if (v < min || v > max) {
        error(n->source(), std::string(section) + "." + std::string(key) + " must be between " +
                               std::to_string(min) + " and " + std::to_string(max));
        return std::nullopt;
    }
    return v;
}

std::optional<bool> TomlReader::boolean(const toml::table* t, std::string_view section, std::string_view key) {
    const toml::node* n = find(t, section, key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) {
        error(n->source(), std::string(section) + "." + std::string(key) + " must be true or false");
        return std::nullopt;
    }
    return *n->value<bool>();
}

std::optional<std::vector<std::string>> TomlReader::strings(const toml::table* t, std::string_view section,
                                                            std::string_view key) {
    const toml::node* n = find(t, section, key);
    if (!n) return std::nullopt;
    const toml::array* a = n->as_array();
    std::vector<std::string> out;
    bool ok = a != nullptr;
    if (a)
        for (const auto& item : *a) {
            if (!item.is_string()) {
                ok = false;
                break;
            }
            out.push_back(*item.value<std::string>());
        }
    if (!ok) {
        error(n->source(), std::string(section) + "." + std::string(key) + " must be a list of strings");
        return std::nullopt;
    }
    return out;
}

void TomlReader::report_unknown(bool skip_other_tables) {
    for (const auto& [key, node] : root_)
        if (!used_.count(std::string(key.str())) && !(skip_other_tables && node.is_table()))
            error(node.source(), "unknown section or key '" + std::string(key.str()) + "'");
    for (const auto& [name, t] : tables_)
        for (const auto& [key, node] : *t)
            if (!used_.count(name + "." + std::string(key.str())))
                error(node.source(), "unknown key '" + std::string(key.str()) + "' in [" + name + "]");
}

}  // namespace xpmn::config
