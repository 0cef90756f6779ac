// A section of the configuration file that a part of the daemon reads
// itself (each adapter its own `[upnp]`, `[mpris]`, …), so that the core does
// not know the parts' keys. Errors go through the TomlReader: with
// file:line, collected with all others; keys the section does not read are
// refused like everywhere else.
#pragma once

#include <string>

#include "config/toml_reader.hpp"

namespace xpmn::config {

class Section {
public:
    virtual ~Section() = default;
    // The table it reads ("upnp" for [upnp]).
    virtual std::string name() const = 0;
    // Reads the table; nullptr when the file has none (keep the defaults).
    // Read each key through `reader` (reader.string(table, name(), "key"), …).
    virtual void read(TomlReader& reader, const toml::table* table) = 0;
};

}  // namespace xpmn::config
