// xpmn-bench-client: the benchmark's measuring controller. Logs in once (the
// xpmn CLI's connection and config) and then times IQs sent on that one
// session, one command per stdin line, one answer line per command on stdout,
// so the measurement is what a native controller sees, not a script's own
// XML costs. One Asio loop, no threads; a command starts when the previous
// one has answered.
//
//   browse JID ID START MAX  ->  US TYPE RETURNED TOTAL BYTES   (BYTES: the <container/> serialized)
//   browse-e2e JID ID START MAX  ->  the same + VIA: over the device's end-to-end stream (XTLS over S5B
//                            as [transfer] allows, else IBB; the config's state_dir must be paired with
//                            the bridge; the first one opens it and the OOB session), as `xpmn browse`:
//                            a result over 16 KiB comes out of band (VIA `oob`, else `inline`)
//   walk JID ROOT PAGE       ->  US TYPE ITEMS CONTAINERS       (every object below ROOT, paged by `returned`)
//   walk-e2e JID ROOT PAGE   ->  the same over the end-to-end stream (and OOB results)
//   paths JID                ->  0 result E2E OOB   (how each travels: s5b-direct, s5b-proxy, ibb; - if not open)
//   ping JID                 ->  US TYPE
//   echo JID SIZE            ->  US TYPE BYTES   (asks JID for the result it kept for SIZE; see below)
//
// US: microseconds from handing the request to the session to its answer.
// TYPE: `result`, or `error:CONDITION`. A malformed line answers `bad REASON`.
// Every client answers <echo size='N' xmlns='urn:xpmn:bench:echo'/> with the
// <container/> of its last `browse` whose MAX was N (empty if none): one
// client's browse result sent by another through the server is the cost of
// the XMPP path alone.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <unistd.h>
#include <vector>

#include "common/logging.hpp"
#include "common/state_dir.hpp"
#include "config/config.hpp"
#include "controller/directory_request.hpp"
#include "tools/xpmn/controller.hpp"
#include "tools/xpmn/oob_result.hpp"
#include "xmpp/core/namespaces.hpp"
#include "xmpp/core/stanza.hpp"

using namespace xpmn;

namespace {

constexpr const char* echo_ns = "urn:xpmn:bench:echo";
constexpr std::size_t max_line = 4096;

using Clock = std::chrono::steady_clock;
using Controller = tools::Controller;

long long micros_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

std::string type_of(const client::IqResponse& r) { return r.ok() ? "result" : "error:" + r.error().condition; }

class Bench {
public:
    Bench(tools::Controller& c, Controller::Done done)
        : c_(c), done_(std::move(done)), in_(c.io(), ::dup(STDIN_FILENO)) {
        c_.session().router().on_iq("get", echo_ns, "echo",
                                    [this](const client::Peer&, const xml::Element& iq, client::IqResponder r) {
                                        auto it = kept_.find(iq.first_element()->attr_or("size"));
                                        if (it == kept_.end()) return r.result();
                                        r.result(it->second);
                                    });
    }
    void start() {
        c_.watching();  // commands may come for as long as stdin is open
        next();
    }

private:
    void next() {
        boost::asio::async_read_until(in_, buf_, '\n', [this](boost::system::error_code ec, std::size_t n) {
            if (ec) return done_(ec == boost::asio::error::eof ? 0 : 1);
            std::string line(boost::asio::buffers_begin(buf_.data()), boost::asio::buffers_begin(buf_.data()) + n);
            buf_.consume(n);
            if (line.size() > max_line) return answer("bad line too long");
            run(line);
        });
    }
    void answer(const std::string& text) {
        std::cout << text << std::endl;
        next();
    }

    void run(const std::string& line) {
        std::istringstream in(line);
        std::string cmd, jid;
        in >> cmd >> jid;
        if (cmd == "browse" || cmd == "browse-e2e") {
            std::string id;
            long long start = -1, max = -1;
            if (!(in >> id >> start >> max) || start < 0 || max < 0) return answer("bad usage: browse JID ID START MAX");
            auto t0 = Clock::now();
            bool e2e = cmd == "browse-e2e";
            return browse(jid, id, start, max, e2e, [this, t0, max, e2e](Result<Answer> r) {
                auto us = micros_since(t0);
                if (!r) return answer(std::to_string(us) + " error:" + r.error().condition);
                const auto& c = r->container;
                std::string text = c.to_string();
                if (!e2e) kept_[std::to_string(max)] = c;
                answer(std::to_string(us) + " result " + c.attr_or("returned", "?") + " " + c.attr_or("total", "?") +
                       " " + std::to_string(text.size()) + (e2e ? (r->oob ? " oob" : " inline") : ""));
            });
        }
        if (cmd == "walk" || cmd == "walk-e2e") {
            std::string root;
            long long page = 0;
            if (!(in >> root >> page) || page <= 0) return answer("bad usage: walk JID ROOT PAGE");
            auto w = std::make_shared<Walk>();
            w->jid = jid, w->page = page, w->current = root, w->e2e = cmd == "walk-e2e", w->t0 = Clock::now();
            return walk(w);
        }
        if (cmd == "paths") {
            auto device = Jid::parse(jid);
            if (!device) return answer("bad not a JID");
            std::string e2e = c_.links().channel_path(*device), oob = c_.links().oob_path(*device);
            return answer("0 result " + (e2e.empty() ? "-" : e2e) + " " + (oob.empty() ? "-" : oob));
        }
        if (cmd == "ping" || cmd == "echo") {
            std::string size;
            if (cmd == "echo" && !(in >> size)) return answer("bad usage: echo JID SIZE");
            xml::Element payload(cmd, cmd == "ping" ? ns::ping : echo_ns);
            if (cmd == "echo") payload.set_attr("size", size);
            auto iq = stanza::iq("get", jid);
            iq.add_child(std::move(payload));
            auto t0 = Clock::now();
            return c_.session().send_iq(std::move(iq), [this, t0, cmd](const client::IqResponse& r) {
                auto us = micros_since(t0);
                std::string tail;
                if (cmd == "echo" && r.ok()) tail = " " + std::to_string(r.payload() ? r.payload()->to_string().size() : 0);
                answer(std::to_string(us) + " " + type_of(r) + tail);
            });
        }
        answer("bad unknown command '" + cmd + "' (browse, browse-e2e, walk, walk-e2e, paths, ping, echo)");
    }

    struct Answer {
        xml::Element container;
        bool oob = false;  // it came out of band
    };
    using AnswerHandler = std::function<void(Result<Answer>)>;

    // Over c2s, or over the end-to-end stream as `xpmn browse` asks (the OOB
    // session prepared once per device, before its first request).
    void browse(const std::string& jid, const std::string& id, long long start, long long max, bool e2e,
                AnswerHandler done) {
        xml::Element b("browse", ns::media_server);
        b.set_attr("id", id);
        b.set_attr("start", std::to_string(start));
        b.set_attr("max", std::to_string(max));
        auto iq = stanza::iq("get", jid);
        iq.add_child(std::move(b));
        auto container = [](const client::IqResponse& r) -> Result<Answer> {
            if (!r.ok()) return r.error();
            if (!r.payload() || r.payload()->name() != "container") return Error{"no-container", "no <container/>"};
            return Answer{*r.payload(), false};
        };
        if (!e2e) return c_.session().send_iq(std::move(iq), [done, container](const client::IqResponse& r) {
            done(container(r));
        });
        auto device = Jid::parse(jid);
        if (!device) return done(Error{"jid-malformed", jid});
        c_.channel_to(jid, [this, device = *device, iq = std::move(iq), done, container](
                               Result<tools::ChannelPtr> channel) mutable {
            if (!channel) return done(channel.error());
            auto send = [this, device, iq = std::move(iq), done, container, channel = *channel]() mutable {
                prepared_.insert(device);
                channel->router().send_iq(std::move(iq), c_.request_timeout(), [this, device, done, container](
                                                                                   const client::IqResponse& r) {
                    if (!r.ok() || !r.payload() || !controller::is_oob_result(*r.payload())) return done(container(r));
                    controller::read_oob_result(c_, device, *r.payload(), [done](Result<xml::Element> doc) {
                        if (!doc) return done(doc.error());
                        done(Answer{std::move(*doc), true});
                    });
                });
            };
            if (prepared_.count(device)) return send();
            tools::prepare_oob(c_, device, std::move(send));
        });
    }

    struct Walk {
        std::string jid, current;  // `current` is being paged from `start`
        long long page = 0, start = 0, items = 0, containers = 0;
        std::vector<std::string> todo;  // containers found, not yet listed
        bool e2e = false;
        Clock::time_point t0;
    };
    // Depth first, as the Python walker: page each container by what each answer returned.
    void walk(std::shared_ptr<Walk> w) {
        if (w->current.empty()) {
            if (w->todo.empty())
                return answer(std::to_string(micros_since(w->t0)) + " result " + std::to_string(w->items) + " " +
                              std::to_string(w->containers));
            w->current = w->todo.back();
            w->todo.pop_back();
            w->start = 0;
        }
        browse(w->jid, w->current, w->start, w->page, w->e2e, [this, w](Result<Answer> r) {
            if (!r) return answer(std::to_string(micros_since(w->t0)) + " error:" + r.error().condition);
            const auto* c = &r->container;
            long long kids = 0;
            for (const auto* o : c->elements()) {
                if (o->name() == "item") ++w->items, ++kids;
                if (o->name() == "container") ++w->containers, ++kids, w->todo.push_back(o->attr_or("id"));
            }
            w->start += kids;
            if (kids == 0 || w->start >= std::strtoll(c->attr_or("total", "0").c_str(), nullptr, 10)) w->current.clear();
            walk(w);
        });
    }

    Controller& c_;
    Controller::Done done_;
    boost::asio::posix::stream_descriptor in_;
    boost::asio::streambuf buf_{max_line + 1};
    std::map<std::string, xml::Element> kept_;  // echo templates by MAX
    std::set<Jid> prepared_;                    // devices whose OOB session was prepared
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"xpmn-bench-client: times IQs on one logged-in session, one command per stdin line"};
    std::string config_path, resource = "bench";
    int timeout_s = 30;
    app.add_option("--config", config_path, "configuration file (same format as xpmn)")->required();
    app.add_option("--resource", resource, "resource to bind");
    app.add_option("--timeout", timeout_s, "give up when not online after this many seconds; also the IQ timeout")
        ->check(CLI::Range(1, 3600));
    CLI11_PARSE(app, argc, argv);
    config::Config cfg;
    try {
        cfg = config::load(config_path, {}, config::OtherTables::Ignore);
        common::setup_logging("warn", "xpmn-bench-client");
        common::ensure_state_dir(cfg.bridge.state_dir);
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    boost::asio::io_context io;
    tools::Controller controller(io, cfg, resource, std::chrono::seconds(timeout_s));
    std::unique_ptr<Bench> bench;
    try {
        return controller.run([&](tools::Controller& c, tools::Controller::Done done) {
            bench = std::make_unique<Bench>(c, std::move(done));
            std::cout << "online " << c.session().jid().str() << std::endl;  // the caller waits for this line
            bench->start();
        });
    } catch (const std::exception& e) {
        std::cerr << "xpmn-bench-client: " << e.what() << "\n";
        return 1;
    }
}
