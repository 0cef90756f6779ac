#include "xmpp/jingle/socks5_server.hpp"

#include <boost/asio/write.hpp>

#include "xmpp/jingle/socks5_codec.hpp"
#include "xmpp/jingle/socks5_io.hpp"

namespace xpmn::jingle::socks5 {

namespace asio = boost::asio;

std::shared_ptr<ServerHandshake> ServerHandshake::run(asio::ip::tcp::socket socket, Expect expect,
                                                      std::chrono::milliseconds deadline, Handler done) {
    auto h = std::shared_ptr<ServerHandshake>(new ServerHandshake(std::move(socket), std::move(expect), std::move(done)));
    h->timer_.expires_after(deadline);
    h->timer_.async_wait([h, deadline](const boost::system::error_code& ec) {
        if (ec || h->finished_) return;
        h->finish(Error{"remote-server-timeout",
                        "no SOCKS5 request within " + std::to_string(deadline.count()) + " ms"});
    });
    asio::post(h->timer_.get_executor(), [h] {
        if (!h->finished_) h->read_greeting();
    });
    return h;
}

ServerHandshake::ServerHandshake(asio::ip::tcp::socket socket, Expect expect, Handler done)
    : timer_(socket.get_executor()), expect_(std::move(expect)), done_(std::move(done)) {
    stream_ = std::make_shared<net::TcpStream>(std::move(socket));
}

void ServerHandshake::cancel() {
    if (finished_) return;
    done_ = nullptr;
    finish(Error{"undefined-condition", "cancelled"});
}

void ServerHandshake::read_greeting() {
    read_exactly(stream_, in_, shared_from_this(), parse_greeting,
                 [this](const boost::system::error_code& ec, Parse<Greeting> p) {
                     if (finished_) return;
                     if (ec) return finish(Error{"remote-server-not-found", "SOCKS5 client went away: " + ec.message()});
                     if (p.invalid()) return finish(Error{"bad-request", p.error});
                     if (!p.value.offers(kMethodNoAuth))
                         return answer(encode_method_choice(kMethodNoneAcceptable),
                                       Error{"not-acceptable", "SOCKS5 client does not offer 'no authentication'"});
                     answer(encode_method_choice(kMethodNoAuth), std::nullopt);
                 });
}

void ServerHandshake::read_request() {
    read_exactly(stream_, in_, shared_from_this(), parse_request,
                 [this](const boost::system::error_code& ec, Parse<Request> p) {
                     if (finished_) return;
                     if (ec) return finish(Error{"remote-server-not-found", "SOCKS5 client went away: " + ec.message()});
                     if (p.invalid()) return finish(Error{"bad-request", p.error});
                     const Request& r = p.value;
                     auto refuse = [&](Rep rep, std::string why) {
                         // The reply echoes the request; an address we could not
                         // encode back is answered with an empty IPv4 one.
                         auto bytes = encode_reply(rep, r.address, r.port);
                         if (!bytes) bytes = encode_reply(rep, Address{kAtypIpv4, std::string(4, '\0')}, 0);
                         answer(std::move(*bytes), Error{"not-acceptable", std::move(why)});
                     };
                     if (r.command != kCmdConnect)
                         return refuse(Rep::CommandNotSupported, "SOCKS5 client asked for a command other than CONNECT");
                     if (r.address.type != kAtypDomain)
                         return refuse(Rep::AddressTypeNotSupported, "SOCKS5 client did not send a DST.ADDR hash");
                     if (!expect_ || !expect_(r.address.value))
                         return refuse(Rep::HostUnreachable, "SOCKS5 client asked for an unknown bytestream");
                     dst_addr_ = r.address.value;
                     answer(*encode_reply(Rep::Succeeded, r.address, r.port), std::nullopt);
                 });
}

void ServerHandshake::answer(std::string bytes, std::optional<Error> refusal) {
    out_ = std::move(bytes);
    // The handler holds the stream (see Client::send).
    asio::async_write(stream_->socket(), asio::buffer(out_),
                      [self = shared_from_this(), stream = stream_, refusal](const boost::system::error_code& ec,
                                                                            std::size_t) {
                          if (self->finished_) return;
                          if (ec)
                              return self->finish(
                                  Error{"remote-server-not-found", "SOCKS5 client went away: " + ec.message()});
                          if (refusal) return self->finish(*refusal, true);
                          if (self->dst_addr_.empty()) return self->read_request();
                          self->finish(Accepted{self->dst_addr_, self->stream_});
                      });
}

void ServerHandshake::finish(Result<Accepted> outcome, bool graceful) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    if (!outcome) graceful ? stream_->close() : stream_->abort();
    stream_.reset();
    auto done = std::move(done_);
    if (done) done(std::move(outcome));
}

}  // namespace xpmn::jingle::socks5
