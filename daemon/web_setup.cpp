#include "daemon/web_setup.hpp"

#include <spdlog/spdlog.h>

#include "daemon/pair_command.hpp"
#include "daemon/terminal_qr.hpp"

namespace xpmn::daemon {

std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> keep_recent_problems() {
    constexpr std::size_t kKept = 20;
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kKept);
    sink->set_level(spdlog::level::warn);
    sink->set_pattern("%Y-%m-%d %H:%M:%S %l: %v");
    spdlog::default_logger()->sinks().push_back(sink);
    return sink;
}

std::unique_ptr<web::WebServer> start_web(const web::WebConfig& web, std::string password, const config::Config& cfg,
                                          Security& security, bridge::DeviceHost& host,
                                          std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> problems) {
    web::WebBackend backend;
    backend.status = [&cfg, &host, problems] {
        web::StatusView v;
        v.bridge_name = cfg.bridge.name;
        v.account = cfg.xmpp.jid.bare().str();
        v.devices = host.states();
        for (auto& line : problems->last_formatted()) {
            while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
            v.recent_problems.push_back(std::move(line));
        }
        return v;
    };
    backend.pair = [pairing = security.pairing, &cfg, fp = security.identity.fingerprint]() -> Result<web::PairView> {
        auto answer = open_pairing(*pairing, cfg, fp);
        if (!answer) return answer.error();
        auto f = parse_answer(*answer);
        web::PairView v{f["pin"], pairing_uri(f["jid"], f["pin"], f["fp"]), f["expires"], f["fp"], {}};
        try {
            v.qr_svg = svg_qr(v.uri);
        } catch (const std::exception& e) {
            spdlog::warn("web: {} (the page shows the PIN only)", e.what());
        }
        return v;
    };
    backend.acl = {security.trust, security.grants, security.access,
                   [streams = security.streams.get()](const Jid& jid, const std::string& fingerprint) {
                       streams->close_streams_of(jid, fingerprint);
                   }};
    return std::make_unique<web::WebServer>(*web.listen, std::move(password), std::move(backend));
}

}  // namespace xpmn::daemon
