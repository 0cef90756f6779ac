#include "common/logging.hpp"

#include <glib.h>
#include <libxml/xmlerror.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace xpmn::common {

namespace {

std::string_view field(const GLogField& f) {
    const auto* text = static_cast<const char*>(f.value);
    if (!text) return {};
    return f.length < 0 ? std::string_view(text) : std::string_view(text, static_cast<std::size_t>(f.length));
}

// GLib, gupnp, gssdp and libsoup log through GLib: their lines go into our
// log, in our format, instead of raw onto stderr.
GLogWriterOutput glib_to_spdlog(GLogLevelFlags level, const GLogField* fields, gsize n, gpointer) {
    bool chatter = !(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                              G_LOG_LEVEL_INFO));
    if (chatter && !spdlog::should_log(spdlog::level::trace)) return G_LOG_WRITER_HANDLED;
    std::string_view domain = "glib", message;
    for (gsize i = 0; i < n; ++i) {
        if (std::strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
            domain = field(fields[i]);
        else if (std::strcmp(fields[i].key, "MESSAGE") == 0)
            message = field(fields[i]);
    }
    auto lvl = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? spdlog::level::err
               : (level & G_LOG_LEVEL_WARNING)                      ? spdlog::level::warn
               : (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) ? spdlog::level::info
                                                                    : spdlog::level::trace;
    spdlog::log(lvl, "{}: {}", domain, message);
    return G_LOG_WRITER_HANDLED;
}

// libxml2 errors of parsers we do not own (gupnp's SOAP and description
// parsing); our own parsers install their own handlers.
void libxml2_to_spdlog(void*, xmlErrorPtr error) {
    if (!error || !error->message) return;
    std::string_view text = error->message;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    spdlog::debug("libxml2: line {}: {}", error->line, text);
}

}  // namespace

void setup_logging(const std::string& level, const std::string& program) {
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") throw std::invalid_argument("unknown log level " + level);
    // Thread-safe: GLib may log from its worker threads (resolver, GTask pool).
    auto logger = spdlog::stderr_logger_mt(program);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    static bool libraries_routed = false;  // GLib takes its writer only once per process
    if (!libraries_routed) {
        libraries_routed = true;
        g_log_set_writer_func(glib_to_spdlog, nullptr, nullptr);
        xmlSetStructuredErrorFunc(nullptr, &libxml2_to_spdlog);
    }
}

}  // namespace xpmn::common
