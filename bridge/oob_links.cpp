#include "bridge/oob_links.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace xpmn::bridge {

// Shared with its timer, so it outlives neither this object nor the wait.
struct OobLinks::Waiter {
    explicit Waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    std::function<void(bool)> done;
    void fire(bool ready) {
        timer.cancel();
        if (auto d = std::exchange(done, {})) d(ready);
    }
};

std::string OobLinks::key(const client::Peer& peer) { return peer.jid.str() + ' ' + peer.fingerprint; }

OobLinks::Token OobLinks::add(const client::Peer& peer, Send send, Abort abort) {
    Token token = next_++;
    const std::string k = key(peer);
    links_[k] = Link{token, std::move(send), std::move(abort)};
    auto [first, last] = waiters_.equal_range(k);
    std::vector<std::shared_ptr<Waiter>> up;
    for (auto it = first; it != last; ++it) up.push_back(it->second);
    waiters_.erase(first, last);
    for (auto& w : up)
        boost::asio::post(w->timer.get_executor(), [w] { w->fire(true); });
    return token;
}

void OobLinks::remove(Token token) {
    for (auto it = links_.begin(); it != links_.end(); ++it)
        if (it->second.token == token) {
            links_.erase(it);
            return;
        }
}

const OobLinks::Link* OobLinks::find(const client::Peer& peer) const {
    if (!peer.end_to_end() || peer.fingerprint.empty()) return nullptr;
    auto it = links_.find(key(peer));
    return it == links_.end() ? nullptr : &it->second;
}

bool OobLinks::ready(const client::Peer& peer) const { return find(peer) != nullptr; }

void OobLinks::when_ready(const client::Peer& peer, const boost::asio::any_io_executor& executor,
                          std::chrono::milliseconds wait, std::function<void(bool)> done) {
    auto w = std::make_shared<Waiter>(executor);
    w->done = std::move(done);
    const bool ready_now = ready(peer);
    if (ready_now || !setting_up(peer)) {
        boost::asio::post(executor, [w, ready_now] { w->fire(ready_now); });
        return;
    }
    std::erase_if(waiters_, [](const auto& kv) { return !kv.second->done; });  // the timed-out ones
    waiters_.emplace(key(peer), w);
    w->timer.expires_after(wait);
    w->timer.async_wait([w](const boost::system::error_code& ec) {
        if (!ec) w->fire(false);
    });
}

std::optional<std::string> OobLinks::send(const client::Peer& peer, oob::SourcePtr source) const {
    const Link* link = find(peer);
    if (!link) return std::nullopt;
    std::string id = link->send(std::move(source));
    if (id.empty()) return std::nullopt;
    return id;
}

bool OobLinks::abort(const client::Peer& peer, const std::string& id) const {
    const Link* link = find(peer);
    if (!link) return false;
    if (link->abort) link->abort(id);
    return true;
}

}  // namespace xpmn::bridge
