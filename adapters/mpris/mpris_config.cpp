#include "adapters/mpris/mpris_config.hpp"

namespace xpmn::mpris {

void MprisSection::read(config::TomlReader& r, const toml::table* t) {
    if (auto v = r.boolean(t, "mpris", "enabled")) config_.enabled = *v;
    if (auto v = r.string(t, "mpris", "bus")) config_.bus = *v;
    if (auto v = r.strings(t, "mpris", "include")) config_.include = *v;
    if (auto v = r.strings(t, "mpris", "exclude")) config_.exclude = *v;
    if (auto v = r.integer(t, "mpris", "call_timeout_ms", 100, 60000)) config_.call_timeout_ms = static_cast<int>(*v);
}

}  // namespace xpmn::mpris
