#include "xmpp/jingle/socks5_client.hpp"

#include <boost/asio/write.hpp>

#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/jingle/socks5_io.hpp"

namespace xpmn::jingle::socks5 {

namespace asio = boost::asio;

std::shared_ptr<Client> Client::connect(asio::io_context& io, std::string host, std::uint16_t port,
                                        std::string dst_addr, std::chrono::milliseconds deadline, Handler done) {
    auto c = std::shared_ptr<Client>(new Client(io, std::move(dst_addr), std::move(done)));
    c->timer_.expires_after(deadline);
    c->timer_.async_wait([c, deadline](const boost::system::error_code& ec) {
        if (ec || c->finished_) return;
        c->fail("remote-server-timeout",
                "no SOCKS5 connection within " + std::to_string(deadline.count()) + " ms");
    });
    auto where = host + ":" + std::to_string(port);
    c->connector_ = net::TcpConnector::connect(
        io, std::move(host), port, [c, where](Result<std::shared_ptr<net::TcpStream>> r) {
            c->connector_.reset();
            if (c->finished_) return;
            if (!r) return c->fail(r.error().condition, "SOCKS5 to " + where + ": " + r.error().text);
            c->on_connected(std::move(*r));
        });
    return c;
}

Client::Client(asio::io_context& io, std::string dst_addr, Handler done)
    : timer_(io), dst_addr_(std::move(dst_addr)), done_(std::move(done)) {}

void Client::cancel() {
    if (finished_) return;
    finished_ = true;
    done_ = nullptr;
    timer_.cancel();
    if (connector_) connector_->cancel();
    connector_.reset();
    if (stream_) stream_->abort();
    stream_.reset();
}

void Client::on_connected(std::shared_ptr<net::TcpStream> stream) {
    stream_ = std::move(stream);
    send(encode_greeting(), &Client::read_method_choice);
}

void Client::send(std::string bytes, void (Client::*next)()) {
    out_ = std::move(bytes);
    // The handler holds the stream: a cancel() meanwhile must not free the
    // socket under the write (it may still write on after a partial write).
    asio::async_write(stream_->socket(), asio::buffer(out_),
                      [self = shared_from_this(), stream = stream_, next](const boost::system::error_code& ec,
                                                                          std::size_t) {
                          if (self->finished_) return;
                          if (ec) return self->fail("remote-server-not-found", "SOCKS5 write failed: " + ec.message());
                          ((*self).*next)();
                      });
}

void Client::read_method_choice() {
    read_exactly(stream_, in_, shared_from_this(), parse_method_choice,
                 [this](const boost::system::error_code& ec, Parse<std::uint8_t> p) {
                     if (finished_) return;
                     if (ec) return read_failed(ec);
                     if (p.invalid()) return fail("bad-request", p.error);
                     if (p.value != kMethodNoAuth)
                         return fail("not-acceptable", "SOCKS5 server accepts no authentication method we offer");
                     // Only now: a strict server reads the request in a read of its own.
                     auto request = encode_connect(dst_addr_);
                     if (!request) return fail(request.error().condition, request.error().text);
                     send(std::move(*request), &Client::read_reply);
                 });
}

void Client::read_reply() {
    read_exactly(stream_, in_, shared_from_this(), parse_reply,
                 [this](const boost::system::error_code& ec, Parse<Reply> p) {
                     if (finished_) return;
                     if (ec) return read_failed(ec);
                     if (p.invalid()) return fail("bad-request", p.error);
                     if (p.value.rep != Rep::Succeeded)
                         return fail("not-acceptable", "SOCKS5 server refused: " + describe(p.value.rep));
                     finish(stream_);
                 });
}

void Client::read_failed(const boost::system::error_code& ec) {
    fail("remote-server-not-found", "SOCKS5 server closed or failed during the handshake: " + ec.message());
}

void Client::fail(std::string condition, std::string text) { finish(Error{std::move(condition), std::move(text)}); }

void Client::finish(Result<std::shared_ptr<net::TcpStream>> outcome) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    if (connector_) connector_->cancel();
    connector_.reset();
    if (!outcome && stream_) stream_->abort();
    stream_.reset();
    auto done = std::move(done_);
    if (done) done(std::move(outcome));
}

}  // namespace xpmn::jingle::socks5
