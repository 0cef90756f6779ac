// `xpmn pair`, `xpmn trust`: pairing with a bridge by the PIN or the
// pairing URI it shows (wire profile §4.1, docs/protocol.md "Pairing URI")
// and the list of bridges this controller trusts.
// `xpmn grant`, `revoke`, `acl`, `forget`: the grants on BARE/bridge
// (§4.2), sent over the end-to-end stream to it.
#include <cctype>
#include <iomanip>
#include <iostream>

#include "common/utc_time.hpp"
#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/discovery.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::tools {

namespace {

constexpr const char* ns_acl = "urn:xmpp:xpmn:acl:0";

std::string bridge_of(const Controller& c, const std::string& text) {
    return c.resolve_jid(text.empty() ? "bridge" : text);
}

// Sends one <acl/> IQ to the bridge over its end-to-end stream.
void acl_request(Controller& c, const std::string& bridge, const std::string& type, xml::Element acl,
                 std::function<void(const xml::Element* result)> on_result, Controller::Done done) {
    c.channel_to(bridge, [&c, bridge, type, acl, on_result, done](Result<ChannelPtr> channel) {
        if (!channel) {
            std::cerr << "xpmn: " << channel.error().text << "\n";
            return done(1);
        }
        auto iq = stanza::iq(type, bridge);
        iq.add_child(acl);
        (*channel)->router().send_iq(std::move(iq), c.request_timeout(),
                                     [bridge, on_result, done](const client::IqResponse& r) {
                                         if (!r.ok()) {
                                             std::cerr << "xpmn: " << bridge << ": " << r.error().describe() << "\n";
                                             return done(1);
                                         }
                                         on_result(r.payload());
                                         done(0);
                                     });
    });
}

struct PairingTarget {
    std::string bridge, pin, fingerprint;
};

Error usage(std::string text) { return Error{"bad-request", std::move(text)}; }

// RFC 3986 percent-decoding of one IRI component.
Result<std::string> percent_decode(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
            return usage("a '%' not followed by two hex digits");
        out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

// xmpp:BARE/bridge?pair;pin=PIN;fp=HEX (unknown keys ignored).
Result<PairingTarget> parse_pairing_uri(std::string_view uri) {
    constexpr std::string_view scheme = "xmpp:";
    auto q = uri.find('?');
    if (uri.starts_with("xmpp://")) return usage("the pairing URI names no authority (xmpp:BARE/bridge?pair;…)");
    if (q == std::string_view::npos || uri.substr(q + 1, 4) != "pair" ||
        (uri.size() > q + 5 && uri[q + 5] != ';'))
        return usage("not a pairing URI (xmpp:BARE/bridge?pair;pin=PIN;fp=HEX)");
    auto jid = percent_decode(uri.substr(scheme.size(), q - scheme.size()));
    if (!jid) return usage("the pairing URI's JID: " + jid.error().text);
    PairingTarget out{*jid, {}, {}};
    std::string_view rest = uri.substr(std::min(uri.size(), q + 6));
    while (!rest.empty()) {
        auto end = rest.find(';');
        std::string_view pair = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        auto value = percent_decode(pair.substr(eq + 1));
        if (!value) return usage("the pairing URI's " + std::string(pair.substr(0, eq)) + ": " + value.error().text);
        if (pair.substr(0, eq) == "pin") out.pin = *value;
        else if (pair.substr(0, eq) == "fp") out.fingerprint = *value;
    }
    return out;
}

// What to pair with: the URI's parts, or the JID and the options; the
// options must agree with a URI that has them too.
Result<PairingTarget> pairing_target(const Controller& c, const PairOptions& o) {
    PairingTarget t{o.bridge, o.pin, o.fingerprint};
    if (o.bridge.starts_with("xmpp:")) {
        auto uri = parse_pairing_uri(o.bridge);
        if (!uri) return uri.error();
        t.bridge = uri->bridge;
        for (auto [given, in_uri, what] : {std::tuple{&t.pin, &uri->pin, "PIN"},
                                           std::tuple{&t.fingerprint, &uri->fingerprint, "fingerprint"}}) {
            if (!given->empty() && !in_uri->empty() && *given != *in_uri)
                return usage(std::string("the ") + what + " given differs from the pairing URI's");
            if (given->empty()) *given = *in_uri;
        }
    }
    t.bridge = bridge_of(c, t.bridge);
    for (auto& ch : t.fingerprint) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!t.fingerprint.empty() &&
        (t.fingerprint.size() != 64 || t.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos))
        return usage("the fingerprint is 64 hex digits (SHA-256), got '" + t.fingerprint + "'");
    if (t.pin.size() < 6 || t.pin.find_first_not_of("0123456789") != std::string::npos)
        return usage("the PIN is the 6 (or more) digits `xpmn-bridge pair` printed (--pin, or the URI's pin)");
    return t;
}

}  // namespace

void pair(Controller& c, const PairOptions& o, Controller::Done done) {
    auto target = pairing_target(c, o);
    if (!target) {
        std::cerr << "xpmn: " << target.error().text << "\n";
        return done(2);
    }
    auto jid = Jid::parse(target->bridge);
    if (!jid || jid->resource().empty()) {
        std::cerr << "xpmn: pair needs the bridge's full JID (BARE/bridge), got '" << target->bridge << "'\n";
        return done(2);
    }
    try {
        c.links().pair(*jid, target->pin, target->fingerprint, [jid = *jid, done](Result<xtls::TrustEntry> r) {
            if (!r) {
                std::cerr << "xpmn: pairing with " << jid.str() << " failed: " << r.error().text << "\n";
                return done(1);
            }
            std::cout << "paired with " << r->jid.str() << " ('" << r->name << "')\n"
                      << "fingerprint " << r->fingerprint << "\n";
            done(0);
        });
    } catch (const std::exception& e) {
        std::cerr << "xpmn: " << e.what() << "\n";
        done(1);
    }
}

int list_trust(const config::Config& cfg) {
    try {
        auto trust = xtls::TrustStore::load(cfg.bridge.state_dir + "/trust.toml");
        if (trust.entries().empty()) {
            std::cout << "no paired bridges (xpmn pair BARE/bridge --pin PIN)\n";
            return 0;
        }
        for (const auto& e : trust.entries())
            std::cout << e.jid.str() << "  " << xtls::role_name(e.role) << "  '" << e.name << "'  paired "
                      << common::format_utc(e.paired_at) << "  " << e.fingerprint << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "xpmn: " << e.what() << "\n";
        return 1;
    }
}

void grant(Controller& c, const GrantOptions& o, Controller::Done done) {
    resolve_device(c, o.device, [&c, o, done](Result<std::string> device) {
        if (!device) {
            std::cerr << "xpmn: " << device.error().text << "\n";
            return done(1);
        }
        xml::Element acl("acl", ns_acl);
        auto& g = acl.add("grant");
        g.set_attr("jid", o.jid);
        g.set_attr("device", *device);
        g.set_attr("permission", o.permission);
        if (!o.container.empty()) g.set_attr("container", o.container);
        if (!o.expires.empty()) g.set_attr("expires", o.expires);
        acl_request(c, bridge_of(c, o.bridge), "set", std::move(acl), [o, device = *device](const xml::Element*) {
            std::cout << "granted " << o.permission << " on " << device
                      << (o.container.empty() ? "" : " container " + o.container) << " to " << o.jid
                      << (o.expires.empty() ? "" : " until " + o.expires) << "\n";
        }, done);
    });
}

void revoke(Controller& c, const GrantOptions& o, Controller::Done done) {
    resolve_device(c, o.device, [&c, o, done](Result<std::string> device) {
        if (!device) {
            std::cerr << "xpmn: " << device.error().text << "\n";
            return done(1);
        }
        xml::Element acl("acl", ns_acl);
        auto& r = acl.add("revoke");
        r.set_attr("jid", o.jid);
        r.set_attr("device", *device);
        acl_request(c, bridge_of(c, o.bridge), "set", std::move(acl), [o, device = *device](const xml::Element*) {
            std::cout << "revoked " << o.jid << "'s grants on " << device << "\n";
        }, done);
    });
}

void forget(Controller& c, const GrantOptions& o, Controller::Done done) {
    xml::Element acl("acl", ns_acl);
    acl.add("forget").set_attr("jid", o.jid);
    acl_request(c, bridge_of(c, o.bridge), "set", std::move(acl),
                [o](const xml::Element*) { std::cout << "forgot " << o.jid << "\n"; }, done);
}

void list_acl(Controller& c, const GrantOptions& o, Controller::Done done) {
    acl_request(c, bridge_of(c, o.bridge), "get", xml::Element("acl", ns_acl), [](const xml::Element* acl) {
        if (!acl || acl->elements().empty()) {
            std::cout << "no grants\n";
            return;
        }
        for (const auto* g : acl->elements()) {
            if (g->name() != "grant") continue;
            std::cout << g->attr_or("jid") << "  " << g->attr_or("permission") << "  " << g->attr_or("device");
            if (auto ct = g->attr("container")) std::cout << "  container " << *ct;
            if (auto ex = g->attr("expires")) std::cout << "  until " << *ex;
            std::cout << "\n";
        }
    }, done);
}

}  // namespace xpmn::tools
