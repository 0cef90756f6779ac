#include "config/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "config/section.hpp"
#include "config/toml_reader.hpp"
#include "xmpp/tls/tls_context.hpp"

namespace xpmn::config {

namespace {

std::string default_state_dir() {
    // Set by a deployment that knows where state belongs (the container
    // image: /config/state, beside /config/config.toml on the one volume).
    if (const char* d = std::getenv("XPMN_STATE_DIR"); d && *d) return d;
    if (geteuid() == 0) return "/var/lib/xpmn-bridge";
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/xpmn-bridge";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/xpmn-bridge";
    return "./xpmn-state";
}

// Relative paths in the file are relative to the file's folder.
std::string resolve(const std::string& config_path, const std::string& p) {
    if (p.empty() || p.front() == '/') return p;
    auto slash = config_path.rfind('/');
    return slash == std::string::npos ? p : config_path.substr(0, slash + 1) + p;
}

std::optional<std::string> read_password_file(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot read password_file " + path;
        return std::nullopt;
    }
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.empty()) {
        error = "password_file " + path + " is empty";
        return std::nullopt;
    }
    return line;
}

}  // namespace

Config load(const std::string& path, const std::vector<Section*>& sections, OtherTables other_tables) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& src = e.source();
        throw ConfigError(path + ":" + std::to_string(src.begin.line) + ": " + std::string(e.description()));
    } catch (const std::exception& e) {
        throw ConfigError(path + ": " + e.what());
    }

    std::vector<std::string> errors;
    TomlReader r(root, path, errors);
    Config c;
    c.path = path;

    const toml::table* x = r.table("xmpp");
    if (!x) errors.push_back(path + ": missing section [xmpp]");
    auto jid = r.string(x, "xmpp", "jid");
    if (x && !jid) errors.push_back(r.where(x->source()) + ": [xmpp] needs jid = \"user@domain\"");
    if (jid) {
        auto parsed = Jid::parse(*jid);
        if (!parsed || parsed->local().empty())
            r.error(x->get("jid")->source(), "xmpp.jid '" + *jid + "' is not a valid user@domain JID");
        else
            c.xmpp.jid = *parsed;
    }
    auto password = r.string(x, "xmpp", "password");
    auto password_file = r.string(x, "xmpp", "password_file");
    if (password && password_file)
        r.error(x->get("password_file")->source(), "give either xmpp.password or xmpp.password_file, not both");
    if (password) c.xmpp.password = *password;
    if (password_file && !password) {
        std::string err;
        if (auto pw = read_password_file(resolve(path, *password_file), err))
            c.xmpp.password = *pw;
        else
            r.error(x->get("password_file")->source(), err);
    }
    if (auto v = r.string(x, "xmpp", "server")) c.xmpp.server = *v;
    if (auto v = r.integer(x, "xmpp", "port", 1, 65535)) c.xmpp.port = static_cast<std::uint16_t>(*v);
    if (auto v = r.string(x, "xmpp", "ca_file")) c.xmpp.ca_file = resolve(path, *v);
    if (auto v = r.string(x, "xmpp", "tls_fingerprint")) {
        try {
            c.xmpp.tls_fingerprint = tls::normalize_fingerprint(*v);
        } catch (const std::exception& e) {
            r.error(x->get("tls_fingerprint")->source(), std::string("xmpp.tls_fingerprint: ") + e.what());
        }
    }
    if (auto v = r.string(x, "xmpp", "client_cert")) c.xmpp.client_cert = resolve(path, *v);
    if (auto v = r.string(x, "xmpp", "client_key")) c.xmpp.client_key = resolve(path, *v);
    if (auto v = r.integer(x, "xmpp", "ping_interval", 0, 3600)) c.xmpp.ping_interval = static_cast<int>(*v);
    if (auto v = r.integer(x, "xmpp", "iq_timeout", 1, 300)) c.xmpp.iq_timeout = static_cast<int>(*v);
    if (auto v = r.strings(x, "xmpp", "sasl_mechanisms")) {
        static const std::set<std::string> known{"EXTERNAL", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};
        for (const auto& m : *v)
            if (!known.count(m))
                r.error(x->get("sasl_mechanisms")->source(),
                        "xmpp.sasl_mechanisms: unknown mechanism '" + m +
                            "' (EXTERNAL, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN)");
        c.xmpp.sasl_mechanisms = *v;
    }
    if (x && jid && c.xmpp.password.empty() && c.xmpp.client_cert.empty() && !password_file)
        errors.push_back(r.where(x->source()) + ": [xmpp] needs password, password_file or client_cert");
    for (const auto* f : {&c.xmpp.ca_file, &c.xmpp.client_cert, &c.xmpp.client_key})
        if (!f->empty() && access(f->c_str(), R_OK) != 0) errors.push_back(path + ": cannot read " + *f);

    const toml::table* b = r.table("bridge");
    c.bridge.state_dir = default_state_dir();
    if (auto v = r.string(b, "bridge", "state_dir")) c.bridge.state_dir = resolve(path, *v);
    if (auto v = r.string(b, "bridge", "log_level")) {
        static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
        if (levels.count(*v))
            c.bridge.log_level = *v;
        else
            r.error(b->get("log_level")->source(),
                    "bridge.log_level must be one of trace, debug, info, warn, error, critical, off");
    }
    if (auto v = r.string(b, "bridge", "name")) {
        if (v->empty() || v->size() > 256)
            r.error(b->get("name")->source(), "bridge.name must have 1 to 256 bytes");
        else
            c.bridge.name = *v;
    }

    const toml::table* sec = r.table("security");
    if (auto v = r.boolean(sec, "security", "require_e2e")) c.security.require_e2e = *v;
    if (auto v = r.integer(sec, "security", "pairing_validity", 5, 300)) c.security.pairing_validity = std::chrono::seconds(*v);

    const toml::table* tr = r.table("transfer");
    if (auto v = r.strings(tr, "transfer", "interfaces")) c.transfer.interfaces = *v;
    if (auto v = r.boolean(tr, "transfer", "proxies")) c.transfer.proxies = *v;
    if (auto v = r.boolean(tr, "transfer", "port_mapping")) c.transfer.port_mapping = *v;
    if (auto v = r.integer(tr, "transfer", "candidate_timeout", 1, 60))
        c.transfer.candidate_timeout = std::chrono::seconds(*v);

    const toml::table* pl = r.table("players");
    if (auto v = r.boolean(pl, "players", "allow_http")) c.players.allow_http = *v;

    for (auto* section : sections) section->read(r, r.table(section->name()));

    r.report_unknown(other_tables == OtherTables::Ignore);
    if (!errors.empty()) {
        std::string all;
        for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
        throw ConfigError(all);
    }
    return c;
}

client::SessionConfig session_config(const Config& c, const std::string& resource) {
    client::SessionConfig s;
    s.jid = c.xmpp.jid.bare().with_resource(resource);
    s.password = c.xmpp.password;
    s.host = c.xmpp.server;
    s.port = c.xmpp.port;
    s.tls.ca_file = c.xmpp.ca_file;
    s.tls.pinned_sha256 = c.xmpp.tls_fingerprint;
    s.tls.client_cert = c.xmpp.client_cert;
    s.tls.client_key = c.xmpp.client_key;
    s.ping_interval = std::chrono::seconds(c.xmpp.ping_interval);
    s.iq_timeout = std::chrono::seconds(c.xmpp.iq_timeout);
    s.ping_timeout = s.iq_timeout;
    s.sasl_mechanisms = c.xmpp.sasl_mechanisms;
    return s;
}

}  // namespace xpmn::config
