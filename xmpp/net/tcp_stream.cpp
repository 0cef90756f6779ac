#include "xmpp/net/tcp_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

namespace xpmn::net {

namespace asio = boost::asio;
using asio::ip::tcp;

TcpStream::TcpStream(tcp::socket socket)
    : socket_(std::move(socket)), executor_(socket_.get_executor()), timer_(executor_) {
    boost::system::error_code ec;
    // Small stanzas must leave at once: Nagle against the peer's delayed ACK
    // costs ~40 ms per exchange.
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
    ack_quickly();
}

// The other half of the ~40 ms stall: a peer with Nagle on (Prosody's
// default) holds its next small segment until ours is acknowledged, and our
// kernel delays that ACK when we have nothing to send yet (waiting for the
// rest of an answer). Linux leaves quick-ACK mode on its own, so it is set
// again after every read.
void TcpStream::ack_quickly() {
    if (!socket_.is_open()) return;
    int on = 1;
    // Best effort: a socket that refuses only keeps the kernel's ACK timing.
    (void)::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

TcpStream::~TcpStream() {
    boost::system::error_code ec;
    socket_.close(ec);
}

void TcpStream::start() {
    // Idempotent: a second read in flight would share the buffer and reorder bytes
    // (TLS takes over a stream that is already being read after STARTTLS).
    if (started_) return;
    started_ = true;
    read_more();
}

void TcpStream::read_more() {
    if (closed_ || paused_ || read_armed_ || held_) return;
    read_armed_ = true;
    socket_.async_read_some(asio::buffer(read_buf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                  std::size_t n) {
        self->read_armed_ = false;
        if (self->closed_) return;
        self->ack_quickly();
        if (ec) {
            self->fail(ec == asio::error::eof ? std::string() : ec.message());
            return;
        }
        // Paused while this read was in flight: keep the bytes (one buffer at
        // most) and read no more.
        if (self->paused_) {
            self->held_ = n;
            return;
        }
        self->deliver(n);
    });
}

void TcpStream::deliver(std::size_t n) {
    // A copy: the callback may replace the handlers (STARTTLS).
    if (auto h = handlers_.on_data) h(std::string_view(read_buf_.data(), n));
    read_more();
}

void TcpStream::resume_reading() {
    if (!paused_) return;
    paused_ = false;
    if (!started_ || closed_) return;
    asio::post(executor(), [w = weak_from_this()] {
        auto s = w.lock();
        if (!s || s->closed_ || s->paused_) return;
        if (std::size_t n = std::exchange(s->held_, 0)) s->deliver(n);
        else s->read_more();
    });
}

void TcpStream::write(std::string bytes) {
    if (closed_ || bytes.empty()) return;
    backlog_ += bytes.size();
    queue_.push_back(std::move(bytes));
    if (write_scheduled_) return;
    write_scheduled_ = true;
    // After the current handler, so that what it writes leaves in one write.
    asio::post(executor(), [self = shared_from_this()] { self->write_more(); });
}

// Writes everything queued as one gathered write; what is queued meanwhile
// goes in the next one.
void TcpStream::write_more() {
    if (queue_.empty() || !socket_.is_open()) {
        write_scheduled_ = false;
        return;
    }
    in_flight_ = std::min<std::size_t>(queue_.size(), 256);
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_flight_);
    for (std::size_t i = 0; i < in_flight_; ++i) buffers.push_back(asio::buffer(queue_[i]));
    asio::async_write(socket_, buffers, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->on_written(ec, n);
    });
}

void TcpStream::on_written(const boost::system::error_code& ec, std::size_t n) {
    if (ec || !socket_.is_open()) {  // aborted meanwhile: the queue is gone
        write_scheduled_ = false;
        if (!closed_) fail(ec ? ec.message() : std::string("connection aborted"));
        drop_queue();
        return;
    }
    backlog_ -= n;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_));
    in_flight_ = 0;
    if (!queue_.empty()) return write_more();
    write_scheduled_ = false;
    drop_queue();  // gives the deque's blocks back
    if (closing_) return shut();
    if (auto h = handlers_.on_drained; h && !closed_) h();
}

void TcpStream::drop_queue() {
    std::deque<std::string>().swap(queue_);
    in_flight_ = 0;
    backlog_ = 0;
}

void TcpStream::shut() {
    closing_ = false;
    timer_.cancel();
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

void TcpStream::reset() {
    closing_ = false;
    timer_.cancel();
    boost::system::error_code ec;
    if (socket_.is_open()) {
        // RST rather than FIN: the kernel drops what it still holds for the peer.
        socket_.set_option(asio::socket_base::linger(true, 0), ec);
        socket_.close(ec);
    }
    // A write in flight has been cancelled by close(): its buffers are no
    // longer used, and its handler sees the closed socket.
    drop_queue();
    held_ = 0;
}

void TcpStream::fail(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    if (reason.empty()) {  // the peer's clean EOF: answer with a FIN
        shut();
        drop_queue();
        held_ = 0;
    } else {
        reset();
    }
    auto handler = std::move(handlers_.on_closed);
    handlers_ = {};
    if (handler) handler(reason);
}

void TcpStream::close() {
    if (closed_) return;
    closed_ = true;
    handlers_ = {};
    if (!write_scheduled_) return shut();
    // Let queued bytes (e.g. </stream:stream>) go out, but not for ever: a
    // peer that stops reading must not keep the socket and its queue alive.
    closing_ = true;
    timer_.expires_after(close_deadline_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec && self->closing_) self->reset();
    });
}

void TcpStream::abort() {
    closed_ = true;
    handlers_ = {};
    reset();
}

std::shared_ptr<TcpConnector> TcpConnector::connect(asio::io_context& io, std::string host, std::uint16_t port,
                                                    ConnectHandler handler) {
    auto c = std::shared_ptr<TcpConnector>(new TcpConnector(io, std::move(handler)));
    // An address literal needs no lookup. Names go through getaddrinfo on
    // Asio's resolver thread: glibc has no event-driven name lookup, and that
    // one thread never touches our objects (docs/architecture.md).
    boost::system::error_code parse_error;
    auto address = asio::ip::make_address(host, parse_error);
    if (!parse_error) {
        c->endpoints_.emplace_back(address, port);
        asio::post(io, [c] {
            if (!c->cancelled_) c->try_next();
        });
        return c;
    }
    c->resolver_.async_resolve(host, std::to_string(port),
                               [c, host](const boost::system::error_code& ec, tcp::resolver::results_type results) {
                                   if (c->cancelled_) return;
                                   if (ec) {
                                       auto h = std::move(c->handler_);
                                       h(Error{"remote-server-not-found", "cannot resolve " + host + ": " + ec.message()});
                                       return;
                                   }
                                   for (const auto& r : results) c->endpoints_.push_back(r.endpoint());
                                   c->try_next();
                               });
    return c;
}

TcpConnector::TcpConnector(asio::io_context& io, ConnectHandler handler)
    : resolver_(io), socket_(io), handler_(std::move(handler)) {}

void TcpConnector::cancel() {
    cancelled_ = true;
    resolver_.cancel();
    boost::system::error_code ec;
    socket_.close(ec);
    handler_ = nullptr;
}

void TcpConnector::try_next() {
    if (next_ >= endpoints_.size()) {
        auto h = std::move(handler_);
        if (h)
            h(Error{"remote-server-not-found",
                    "cannot connect: " + (last_error_.empty() ? std::string("no address") : last_error_)});
        return;
    }
    auto ep = endpoints_[next_++];
    boost::system::error_code ec;
    socket_.close(ec);
    socket_.async_connect(ep, [self = shared_from_this(), ep](const boost::system::error_code& ec) {
        if (self->cancelled_) return;
        if (ec) {
            self->last_error_ = ep.address().to_string() + ":" + std::to_string(ep.port()) + ": " + ec.message();
            self->try_next();
            return;
        }
        auto h = std::move(self->handler_);
        if (h) h(std::make_shared<TcpStream>(std::move(self->socket_)));
    });
}

}  // namespace xpmn::net
