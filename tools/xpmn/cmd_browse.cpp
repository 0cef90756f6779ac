// `xpmn browse` and `xpmn search`: the Directory profile of a media server
// device, printed as a table (or the raw <container/> with --xml).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "controller/directory_request.hpp"
#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/discovery.hpp"
#include "tools/xpmn/oob_result.hpp"
#include "tools/xpmn/text_format.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

namespace xpmn::tools {

namespace {

// Display width of UTF-8 text (code points; good enough for a terminal table).
std::size_t width(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
}

std::string fit(const std::string& s, std::size_t w) {
    std::string out;
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char ch = static_cast<unsigned char>(s[i]);
        if ((ch & 0xC0) != 0x80) {
            if (n == w - 1 && width(s) > w) return out + "…";
            ++n;
        }
        out += s[i];
    }
    return out + std::string(w > n ? w - n : 0, ' ');
}

std::string duration_text(const std::string& seconds) {
    if (seconds.empty()) return "";
    return clock_text(static_cast<long>(std::strtod(seconds.c_str(), nullptr) + 0.5));
}

std::string size_text(const std::string& bytes) {
    if (bytes.empty()) return "";
    return bytes_text(std::strtod(bytes.c_str(), nullptr));
}

void print_table(const xml::Element& c) {
    std::cout << "container " << c.attr_or("id", "(search)");
    if (auto t = c.child_text("title"); !t.empty()) std::cout << " \"" << t << "\"";
    std::uint64_t start = std::strtoull(c.attr_or("start", "0").c_str(), nullptr, 10);
    std::uint64_t returned = std::strtoull(c.attr_or("returned", "0").c_str(), nullptr, 10);
    std::cout << ": " << returned << " of " << c.attr_or("total", "?");
    if (returned) std::cout << " (" << start + 1 << "-" << start + returned << ")";
    if (auto u = c.attr("update-id")) std::cout << ", update-id " << *u;
    std::cout << "\n";
    std::vector<std::vector<std::string>> rows{{"ID", "CLASS", "TITLE", "ARTIST / ALBUM", "DURATION", "SIZE"}};
    for (const auto* o : c.elements()) {
        if (o->name() != "item" && o->name() != "container") continue;
        std::string who = o->child_text("artist");
        if (auto album = o->child_text("album"); !album.empty()) who += (who.empty() ? "" : " / ") + album;
        std::string cls = o->name() == "container" ? "container" : o->child_text("class");
        if (o->name() == "container" && o->attr("child-count")) cls += " (" + *o->attr("child-count") + ")";
        rows.push_back({o->attr_or("id"), cls, o->child_text("title"), who, duration_text(o->child_text("duration")),
                        size_text(o->child_text("size"))});
    }
    const std::size_t caps[] = {24, 14, 40, 40, 9, 10};
    std::vector<std::size_t> w(6, 0);
    for (const auto& r : rows)
        for (std::size_t i = 0; i < 6; ++i) w[i] = std::min(caps[i], std::max(w[i], width(r[i])));
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < 6; ++i) line += fit(r[i], w[i]) + (i < 5 ? "  " : "");
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::cout << line << "\n";
    }
}

void show(const xml::Element& result, bool raw, const std::string& jid, const Controller::Done& done) {
    if (raw)
        std::cout << result.to_string() << "\n";
    else
        print_table(result);
    done(0);
}

void ask(Controller& c, const std::string& device, xml::Element payload, bool raw, Controller::Done done) {
    resolve_device(c, device, [&c, payload, raw, done](Result<std::string> found) {
        if (!found) {
            std::cerr << "xpmn: " << found.error().text << "\n";
            return done(1);
        }
        const std::string jid = found.value();
        c.channel_to(jid, [&c, payload, raw, done, jid](Result<ChannelPtr> channel) {
        if (!channel) {
            std::cerr << "xpmn: " << channel.error().text << "\n";
            return done(1);
        }
        auto parsed = Jid::parse(jid);
        if (!parsed) {
            std::cerr << "xpmn: '" << jid << "' is not a JID\n";
            return done(1);
        }
        Jid device = *parsed;
        prepare_oob(c, device, [&c, payload, raw, done, jid] {
            controller::directory_request(c, jid, payload, [raw, done, jid](Result<xml::Element> result) {
                if (!result) {
                    std::cerr << "xpmn: " << jid << ": " << result.error().describe() << "\n";
                    return done(1);
                }
                show(*result, raw, jid, done);
            });
        });
        });
    });
}

}  // namespace

void browse(Controller& c, const BrowseOptions& o, Controller::Done done) {
    xml::Element b("browse", ns::media_server);
    b.set_attr("id", o.id);
    b.set_attr("start", std::to_string(o.start));
    b.set_attr("max", std::to_string(o.max));
    ask(c, o.device, std::move(b), o.xml, std::move(done));
}

void search(Controller& c, const SearchOptions& o, Controller::Done done) {
    xml::Element s("search", ns::media_server);
    s.set_attr("container", o.container);
    s.set_attr("start", std::to_string(o.start));
    s.set_attr("max", std::to_string(o.max));
    for (const auto& term : o.terms) {
        auto eq = term.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::cerr << "xpmn: search terms are key=value (title, artist, album, genre, creator, class), got '"
                      << term << "'\n";
            return done(2);
        }
        s.add_text_child(term.substr(0, eq), term.substr(eq + 1));
    }
    ask(c, o.device, std::move(s), o.xml, std::move(done));
}

}  // namespace xpmn::tools
