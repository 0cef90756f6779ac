#include "xmpp/net/tcp_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace xpmn::net {

namespace asio = boost::asio;
using asio::ip::tcp;

TcpStream::TcpStream(tcp::socket socket) : socket_(std::move(socket)) {
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
}

TcpStream::~TcpStream() {
    boost::system::error_code ec;
    socket_.close(ec);
}

void TcpStream::start() {
    // Idempotent: a second read in flight would share the buffer and reorder bytes
    // (TLS takes over a stream that is already being read after STARTTLS).
    if (reading_) return;
    reading_ = true;
    read_more();
}

void TcpStream::read_more() {
    if (closed_) return;
    socket_.async_read_some(asio::buffer(read_buf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                  std::size_t n) {
        if (self->closed_) return;
        if (ec) {
            self->fail(ec == asio::error::eof ? std::string() : ec.message());
            return;
        }
        // A copy: the callback may replace the handlers (STARTTLS).
        if (auto h = self->handlers_.on_data) h(std::string_view(self->read_buf_.data(), n));
        self->read_more();
    });
}

void TcpStream::write(std::string bytes) {
    if (closed_ || close_after_write_ || bytes.empty()) return;
    backlog_ += bytes.size();
    queue_.push_back(std::move(bytes));
    if (!writing_) write_more();
}

void TcpStream::write_more() {
    if (queue_.empty()) {
        writing_ = false;
        if (close_after_write_) {
            boost::system::error_code ec;
            socket_.shutdown(tcp::socket::shutdown_both, ec);
            socket_.close(ec);
        }
        return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                          if (ec) {
                              self->queue_.clear();
                              self->backlog_ = 0;
                              self->writing_ = false;
                              if (!self->closed_) self->fail(ec.message());
                              return;
                          }
                          self->backlog_ -= n;
                          self->queue_.pop_front();
                          self->write_more();
                      });
}

void TcpStream::fail(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    auto handler = std::move(handlers_.on_closed);
    handlers_ = {};
    if (handler) handler(reason);
}

void TcpStream::close() {
    if (closed_) return;
    closed_ = true;
    handlers_ = {};
    // Let queued bytes (e.g. </stream:stream>) go out, then shut the socket.
    close_after_write_ = true;
    boost::system::error_code ec;
    if (!writing_) {
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }
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
                                       h(nullptr, "cannot resolve " + host + ": " + ec.message());
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
        if (h) h(nullptr, "cannot connect: " + (last_error_.empty() ? std::string("no address") : last_error_));
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
        if (h) h(std::make_shared<TcpStream>(std::move(self->socket_)), {});
    });
}

}  // namespace xpmn::net
