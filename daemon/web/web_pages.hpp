// The status page's HTML (docs/web.md): plain HTML forms, no script, one
// stylesheet of our own (/style.css), so that the Content-Security-Policy
// can be default-src 'self'. Every text from outside goes through
// html_escape; every state-changing form carries the session's CSRF token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bridge/device_host.hpp"
#include "bridge/security/grants.hpp"
#include "xmpp/xtls/trust_store.hpp"

namespace xpmn::daemon::web {

struct StatusView {
    std::string bridge_name, account;
    std::vector<bridge::DeviceHost::DeviceState> devices;
    std::vector<std::string> recent_problems;  // newest last
    std::vector<xtls::TrustEntry> controllers;
    std::vector<security::Grant> grants;
};

struct PairView {
    std::string pin, uri, expires, fingerprint, qr_svg;  // qr_svg: markup from svg_qr (empty: none)
};

extern const std::string_view kStyleCss;

std::string login_page(std::string_view problem);  // problem: shown above the form (may be empty)
std::string status_page(const StatusView& view, std::string_view csrf);
std::string pair_page(const PairView& view, std::string_view csrf);
std::string message_page(std::string_view title, std::string_view text);

}  // namespace xpmn::daemon::web
