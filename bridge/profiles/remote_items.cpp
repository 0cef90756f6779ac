#include "bridge/profiles/remote_items.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <set>

#include "controller/controller_links.hpp"
#include "controller/controller_presence.hpp"
#include "controller/range_server.hpp"
#include "controller/transfer_client.hpp"
#include "xmpp/client/c2s_session.hpp"
#include "xmpp/core/random_hex.hpp"

namespace xpmn::profiles {

namespace {

constexpr const char* kResource = "controller";

}  // namespace

// The bridge as a controller: its own session, certificate and trust store.
struct RemoteItems::Links : controller::ControllerLinks {
    Links(boost::asio::io_context& io, std::shared_ptr<client::C2sSession> session, const Context& c)
        : io_(io), links_(io, std::move(session), c.identity, c.trust, c.config.xmpp.jid, c.config.bridge.name) {
        links_.set_transfer(c.config.transfer);
    }
    boost::asio::io_context& io() override { return io_; }
    void channel_to(const std::string& device, controller::ChannelCallback done) override {
        auto jid = Jid::parse(device);
        if (!jid) return done(Error{"jid-malformed", "'" + device + "' is not a JID"});
        links_.channel(*jid, std::move(done));
    }
    void oob_to(const Jid& device, controller::OobCallback done) override { links_.oob(device, std::move(done)); }
    std::chrono::milliseconds request_timeout() const override { return kCheckBudget; }
    controller::SecureLinks& links() override { return links_; }

    boost::asio::io_context& io_;
    controller::SecureLinks links_;
};

std::shared_ptr<RemoteItems> RemoteItems::create(Context context) {
    return std::shared_ptr<RemoteItems>(new RemoteItems(std::move(context)));
}

RemoteItems::RemoteItems(Context context) : context_(std::move(context)) {
    auto sc = config::session_config(context_.config, kResource);
    session_ = client::C2sSession::create(context_.io, sc);
    controller::announce_controller(*session_, "bot", context_.config.bridge.name);  // what it is here
    links_ = std::make_unique<Links>(context_.io, session_, context_);
}

RemoteItems::~RemoteItems() = default;

controller::ControllerLinks& RemoteItems::links() { return *links_; }

controller::RangeServer& RemoteItems::server(const std::optional<LanAddresses>& fetches_from) {
    const std::string address = fetches_from ? fetches_from->bridge : "";
    auto& server = servers_[address];
    if (server) return *server;
    std::weak_ptr<RemoteItems> weak = weak_from_this();
    auto opener = [weak, &io = context_.io](const std::string& token, std::optional<relay::RangeSpec> range,
                                            controller::RangeServer::OpenHandler done) {
        auto self = weak.lock();
        if (!self)  // answered later, as the server expects
            return boost::asio::post(io, [done] { done(Error{"item-not-found", "no such item"}); });
        self->open_served(token, range, std::move(done));
    };
    try {
        if (!fetches_from) {
            server = std::make_unique<controller::RangeServer>(opener);
        } else {
            // A renderer's request: only for an item served to that renderer, from its address.
            auto admits = [weak](const std::string& token, const std::string& peer) {
                auto self = weak.lock();
                auto it = self ? self->served_.find(token) : std::map<std::string, Served>::iterator();
                return self && it != self->served_.end() && it->second.peer == peer;
            };
            server = std::make_unique<controller::RangeServer>(
                opener, controller::RangeServer::LanBinding{address, std::move(admits)});
        }
    } catch (...) {
        servers_.erase(address);
        throw;
    }
    return *server;
}

// Its token names a served item; its range is the wire's inclusive from/to.
void RemoteItems::open_served(const std::string& token, std::optional<relay::RangeSpec> range,
                              std::function<void(Result<controller::ServedBody>)> done) {
    auto it = served_.find(token);
    if (it == served_.end())
        return boost::asio::post(context_.io, [done] { done(Error{"item-not-found", "no such item"}); });
    open_range(it->second.uri, range, std::move(done));
}

void RemoteItems::open_range(const TransferUri& uri, std::optional<relay::RangeSpec> range,
                             std::function<void(Result<controller::ServedBody>)> done) {
    std::optional<std::uint64_t> from, to;
    if (range) {
        from = range->first;
        to = range->last;
    }
    when_online([weak = weak_from_this(), uri, from, to, done](Result<void> online) {
        auto self = weak.lock();
        if (!self) return done(Error{"service-unavailable", "the bridge is stopping"});
        if (!online) return done(online.error());
        controller::open_transfer(*self->links_, uri, from, to, [done](Result<controller::IncomingTransfer> r) {
            if (!r) return done(r.error());
            done(controller::ServedBody{r->total, std::move(r->type), r->size, std::move(r->body)});
        });
    });
}

void RemoteItems::when_online(std::function<void(Result<void>)> then) {
    if (stopped_) return then(Error{"service-unavailable", "the bridge is stopping"});
    if (session_->online()) return then(Result<void>());
    waiting_online_.push_back(std::move(then));
    if (std::exchange(started_, true)) return;
    std::weak_ptr<RemoteItems> weak = weak_from_this();
    session_->set_events({[weak](bool resumed) {
                              auto self = weak.lock();
                              if (!self) return;
                              for (auto& w : std::exchange(self->waiting_online_, {})) w(Result<void>());
                              for (auto& l : self->session_listeners_) l(true, resumed);
                          },
                          [weak](const std::string&) {
                              auto self = weak.lock();
                              if (!self) return;
                              for (auto& l : self->session_listeners_) l(false, false);
                          },
                          [weak](const std::string& reason) {
                              auto self = weak.lock();
                              if (!self) return;
                              for (auto& w : std::exchange(self->waiting_online_, {}))
                                  w(Error{"remote-server-timeout", "the bridge's controller session cannot connect: " +
                                                                       reason});
                          }});
    session_->start();
}

void RemoteItems::serve(const TransferUri& uri, const std::string& player,
                        const std::optional<LanAddresses>& fetches_from, std::function<void(Result<std::string>)> done) {
    // One answer, whichever comes first: the check, or the end of its budget.
    auto once = std::make_shared<std::function<void(Result<std::string>)>>(std::move(done));
    auto timer = std::make_shared<boost::asio::steady_timer>(context_.io, kCheckBudget);
    timer->async_wait([once, device = uri.device.str()](const boost::system::error_code& ec) {
        if (ec || !*once) return;
        std::exchange(*once, nullptr)(
            Error{"remote-server-timeout", device + " did not give the item within " +
                                               std::to_string(kCheckBudget.count()) + " s"});
    });
    if (served_.size() >= kMaxServed) {
        timer->cancel();
        return std::exchange(*once, nullptr)(
            Error{"resource-constraint", "too many items of other bridges are being played"});
    }
    std::weak_ptr<RemoteItems> weak = weak_from_this();
    auto checked = [weak, once, timer, uri, player, fetches_from](Result<void> r) {
        timer->cancel();
        if (!*once) return;  // answered already (timed out): nothing is served
        auto answer = std::exchange(*once, nullptr);
        auto self = weak.lock();
        if (!self || self->stopped_) return answer(Error{"service-unavailable", "the bridge is stopping"});
        if (!r) return answer(r.error());
        try {
            auto token = random_hex(16);  // 128 bits: nobody can guess another's URL
            auto url = self->server(fetches_from).url_for(token);
            std::optional<std::string> peer;
            if (fetches_from) peer = fetches_from->player;
            self->served_[token] = Served{uri, player, peer, url};
            answer(url);
        } catch (const std::exception& e) {
            answer(Error{"internal-server-error", std::string("cannot serve the item locally: ") + e.what()});
        }
    };
    when_online([weak, uri, checked](Result<void> online) {
        auto self = weak.lock();
        if (!self) return checked(Error{"service-unavailable", "the bridge is stopping"});
        if (!online) return checked(online.error());
        self->check(uri, checked);
    });
}

void RemoteItems::check(const TransferUri& uri, std::function<void(Result<void>)> done) {
    // Its first byte: the device knows the item and lets this bridge have it.
    controller::open_transfer(*links_, uri, 0, 0, [uri, done](Result<controller::IncomingTransfer> r) {
        if (!r) return done(Error{r.error().condition, "cannot fetch the item of " + uri.device.str() + ": " +
                                                           r.error().text});
        r->body->cancel();  // the byte itself is not wanted
        done(Result<void>());
    });
}

void RemoteItems::now_playing(const std::string& player, const std::vector<std::string>& urls) {
    std::set<std::string> keep(urls.begin(), urls.end());
    std::erase_if(served_, [&](const auto& s) { return s.second.player == player && !keep.count(s.second.url); });
}

void RemoteItems::unused(const std::vector<std::string>& urls) {
    std::set<std::string> drop(urls.begin(), urls.end());
    std::erase_if(served_, [&](const auto& s) { return drop.count(s.second.url) > 0; });
}

void RemoteItems::stop(std::function<void()> done) {
    if (std::exchange(stopped_, true)) return done();
    served_.clear();
    servers_.clear();  // cancels what players are fetching
    for (auto& w : std::exchange(waiting_online_, {})) w(Error{"service-unavailable", "the bridge is stopping"});
    if (!started_) return done();
    links_->links().close_all([session = session_, done] { session->stop(done); });
}

}  // namespace xpmn::profiles
