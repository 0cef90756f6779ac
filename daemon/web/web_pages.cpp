#include "daemon/web/web_pages.hpp"

#include "common/utc_time.hpp"
#include "daemon/web/html.hpp"

namespace xpmn::daemon::web {
namespace {

std::string head(std::string_view title) {
    return std::string("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">") +
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" + html_escape(title) +
           "</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body>\n";
}

constexpr std::string_view kTail = "</body></html>\n";

std::string csrf_field(std::string_view csrf) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(csrf) + "\">";
}

// A one-button POST form with hidden fields (name, value) and the CSRF token.
std::string post_button(std::string_view action, std::string_view label, std::string_view csrf,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                        std::string_view id = {}) {
    std::string out = "<form method=\"post\" action=\"" + std::string(action) + "\">" + csrf_field(csrf);
    for (auto& [k, v] : fields)
        out += "<input type=\"hidden\" name=\"" + html_escape(k) + "\" value=\"" + html_escape(v) + "\">";
    out += "<button type=\"submit\"";
    if (!id.empty()) out += " id=\"" + html_escape(id) + "\"";
    return out + ">" + html_escape(label) + "</button></form>";
}

std::string cell(std::string_view text) { return "<td>" + html_escape(text) + "</td>"; }

}  // namespace

const std::string_view kStyleCss =
    "body{font-family:sans-serif;margin:1em auto;max-width:60em;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "form{display:inline}.online{color:#070}.offline{color:#a00}.pin{font-size:2.5em;letter-spacing:.15em}"
    "code{word-break:break-all}.problems li{font-family:monospace}\n";

std::string login_page(std::string_view problem) {
    std::string out = head("xpmn-bridge: log in") + "<h1>xpmn-bridge</h1>\n";
    if (!problem.empty()) out += "<p class=\"offline\" id=\"problem\">" + html_escape(problem) + "</p>\n";
    return out +
           "<form method=\"post\" action=\"/login\"><label>Password <input type=\"password\" name=\"password\" "
           "id=\"password\" autocomplete=\"current-password\" autofocus></label> "
           "<button type=\"submit\" id=\"login\">Log in</button></form>\n" +
           std::string(kTail);
}

std::string status_page(const StatusView& v, std::string_view csrf) {
    std::string out = head("xpmn-bridge: " + v.bridge_name) + "<h1>" + html_escape(v.bridge_name) + "</h1>\n" +
                      "<p><a href=\"/\" id=\"reload\">Reload</a> " + post_button("/logout", "Log out", csrf, {}, "logout") +
                      "</p>\n";

    bool connected = false;
    for (auto& d : v.devices)
        if (d.resource == "bridge") connected = d.online;
    out += "<h2>XMPP</h2>\n<p id=\"xmpp\" class=\"" + std::string(connected ? "online" : "offline") + "\">" +
           html_escape(v.account) + (connected ? ": connected" : ": not connected") + "</p>\n";

    out += "<h2>Devices</h2>\n<table id=\"devices\"><tr><th>Name</th><th>Resource</th><th>Kind</th>"
           "<th>Presence</th></tr>\n";
    for (auto& d : v.devices)
        out += "<tr>" + cell(d.identity.name) + cell(d.resource) + cell(d.identity.category + "/" + d.identity.type) +
               "<td class=\"" + (d.online ? "online\">online" : "offline\">offline") + "</td></tr>\n";
    out += "</table>\n";

    out += "<h2>Recent problems</h2>\n";
    if (v.recent_problems.empty()) out += "<p id=\"problems\">None.</p>\n";
    else {
        out += "<ul id=\"problems\" class=\"problems\">";
        for (auto& p : v.recent_problems) out += "<li>" + html_escape(p) + "</li>";
        out += "</ul>\n";
    }

    out += "<h2>Paired controllers</h2>\n<table id=\"controllers\"><tr><th>Account</th><th>Role</th><th>Device</th>"
           "<th>Paired</th><th>Certificate SHA-256</th><th></th></tr>\n";
    for (auto& c : v.controllers) {
        if (c.role == xtls::TrustRole::Device) continue;
        std::string jid = c.jid.str();
        out += "<tr>" + cell(jid) + cell(xtls::role_name(c.role)) + cell(c.name) + cell(common::format_utc(c.paired_at)) +
               cell(c.fingerprint.substr(0, 16) + "…") + "<td>" +
               post_button("/forget", "Forget", csrf, {{"jid", jid}, {"fingerprint", c.fingerprint}}) + "</td></tr>\n";
    }
    out += "</table>\n<p>Forget removes that controller's pairing: it is refused until paired again. An "
           "account's grants go with its last controller.</p>\n";

    out += "<h2>Grants</h2>\n<table id=\"grants\"><tr><th>Account</th><th>Device</th><th>Permission</th>"
           "<th>Container</th><th>Expires</th><th></th></tr>\n";
    for (auto& g : v.grants) {
        std::string jid = g.jid.str(), device = g.device.str();
        out += "<tr>" + cell(jid) + cell(device) + cell(security::permission_name(g.permission)) +
               cell(g.container.empty() ? "(all)" : g.container) +
               cell(g.expires ? common::format_utc(*g.expires) : "never") + "<td>" +
               post_button("/revoke", "Revoke", csrf, {{"jid", jid}, {"device", device}}) + "</td></tr>\n";
    }
    out += "</table>\n";

    out += "<h2>Pair a phone</h2>\n<p>Opens the pairing window: a one-time PIN, valid 5 minutes.</p>\n" +
           post_button("/pair", "Pair a phone", csrf, {}, "pair") + "\n";
    return out + std::string(kTail);
}

std::string pair_page(const PairView& v, std::string_view csrf) {
    std::string out = head("xpmn-bridge: pair a phone") + "<h1>Pair a phone</h1>\n" +
                      "<p>PIN</p><p class=\"pin\" id=\"pin\">" + html_escape(v.pin) + "</p>\n" +
                      "<p>Scan the code with the phone, or enter the PIN there. One use; three wrong tries burn it; "
                      "valid until " +
                      html_escape(v.expires) + ".</p>\n";
    if (!v.qr_svg.empty()) out += "<div id=\"qr\">" + v.qr_svg + "</div>\n";
    out += "<p>Pairing URI: <code id=\"uri\">" + html_escape(v.uri) + "</code></p>\n" +
           "<p>Bridge certificate SHA-256: <code id=\"fingerprint\">" + html_escape(v.fingerprint) + "</code></p>\n" +
           "<p><a href=\"/\" id=\"back\">Back to the status page</a></p>\n" +
           post_button("/pair", "New PIN", csrf, {}, "pair");
    return out + std::string(kTail);
}

std::string message_page(std::string_view title, std::string_view text) {
    return head(title) + "<h1>" + html_escape(title) + "</h1>\n<p id=\"message\">" + html_escape(text) +
           "</p>\n<p><a href=\"/\">Back</a></p>\n" + std::string(kTail);
}

}  // namespace xpmn::daemon::web
