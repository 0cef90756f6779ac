#include "xmpp/jingle/s5b_listener.hpp"

#include <algorithm>

namespace xpmn::jingle {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<std::shared_ptr<S5bListener>> S5bListener::open(asio::io_context& io,
                                                      const std::vector<std::string>& addresses) {
    auto l = std::shared_ptr<S5bListener>(new S5bListener(io));
    for (const auto& a : addresses) {
        boost::system::error_code ec;
        auto address = asio::ip::make_address(a, ec);
        if (ec) return Error{"bad-request", "not an IP address for an S5B candidate: " + a};
        auto acceptor = std::make_unique<tcp::acceptor>(io);
        tcp::endpoint ep(address, 0);
        acceptor->open(ep.protocol(), ec);
        if (!ec) acceptor->bind(ep, ec);
        if (!ec) acceptor->listen(tcp::socket::max_listen_connections, ec);
        if (ec) {
            l->skipped_.push_back(a + ": " + ec.message());
            continue;
        }
        l->bound_.push_back({a, acceptor->local_endpoint().port()});
        l->acceptors_.push_back(std::move(acceptor));
    }
    return l;
}

void S5bListener::start(std::vector<std::string> dst_addrs, std::chrono::milliseconds handshake_deadline,
                        Handler on_stream) {
    dst_addrs_ = std::move(dst_addrs);
    deadline_ = handshake_deadline;
    on_stream_ = std::move(on_stream);
    for (std::size_t i = 0; i < acceptors_.size(); ++i) accept(i);
}

void S5bListener::accept(std::size_t index) {
    acceptors_[index]->async_accept([w = weak_from_this(), index](const boost::system::error_code& ec, tcp::socket s) {
        auto self = w.lock();
        if (!self || self->closed_ || ec == asio::error::operation_aborted) return;
        if (!ec) self->handshake(index, std::move(s));
        // A client that went away costs only itself; anything else (out of
        // descriptors) would fail again at once: this candidate stops listening.
        if (!ec || ec == asio::error::connection_aborted) self->accept(index);
    });
}

void S5bListener::handshake(std::size_t index, tcp::socket socket) {
    if (handshakes_.size() >= kMaxS5bHandshakes) {
        boost::system::error_code ignored;  // refusing: the close result changes nothing
        socket.close(ignored);
        return;
    }
    auto h = socks5::ServerHandshake::run(
        std::move(socket),
        [expected = dst_addrs_](const std::string& dst) {
            return std::find(expected.begin(), expected.end(), dst) != expected.end();
        },
        deadline_,
        [w = weak_from_this(), index, id = next_handshake_](Result<socks5::ServerHandshake::Accepted> r) {
            auto self = w.lock();
            if (!self) {
                if (r) r->stream->abort();
                return;
            }
            self->handshakes_.erase(id);
            if (!r) return;  // a stray or hostile client: nothing to tell anyone
            if (self->closed_) return r->stream->abort();
            self->on_stream_(index, std::move(r->stream));
        });
    handshakes_[next_handshake_++] = std::move(h);
}

void S5bListener::close() {
    if (closed_) return;
    closed_ = true;
    on_stream_ = nullptr;
    for (auto& a : acceptors_) {
        boost::system::error_code ignored;  // closing a listener cannot fail in a way that matters
        a->close(ignored);
    }
    for (auto& [id, h] : handshakes_) h->cancel();
    handshakes_.clear();
}

}  // namespace xpmn::jingle
