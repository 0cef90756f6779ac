// ByteStream over an Asio TCP socket.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <deque>
#include <vector>

#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"

namespace xpmn::net {

class TcpStream : public ByteStream, public std::enable_shared_from_this<TcpStream> {
public:
    explicit TcpStream(boost::asio::ip::tcp::socket socket);
    ~TcpStream() override;

    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void pause_reading() override { paused_ = true; }
    void resume_reading() override;
    void write(std::string bytes) override;
    std::size_t write_backlog() const override { return backlog_; }
    void close() override;
    void abort() override;
    boost::asio::any_io_executor executor() const override { return executor_; }

    void set_close_deadline(std::chrono::milliseconds d) { close_deadline_ = d; }
    boost::asio::ip::tcp::socket& socket() { return socket_; }
    // The peer is a SOCKS5 proxy joining us to someone else (ByteStream::relay_may_hold_tail).
    void set_relayed(bool relayed) { relayed_ = relayed; }
    bool relay_may_hold_tail() const override { return relayed_; }

private:
    void read_more();
    void ack_quickly();
    void deliver(std::size_t n);
    void write_more();
    void on_written(const boost::system::error_code& ec, std::size_t n);
    void drop_queue();
    void shut();    // FIN after the queue is out
    void reset();   // RST now, dropping the queue
    void fail(const std::string& reason);

    boost::asio::ip::tcp::socket socket_;
    boost::asio::any_io_executor executor_;
    boost::asio::steady_timer timer_;  // the close deadline
    Handlers handlers_;
    std::array<char, 65536> read_buf_{};  // a few TLS records per read at transfer rates
    std::size_t held_ = 0;  // bytes in read_buf_ read while paused
    // Written in order; the first `in_flight_` entries are being written.
    std::deque<std::string> queue_;
    std::size_t in_flight_ = 0;
    std::size_t backlog_ = 0;
    std::chrono::milliseconds close_deadline_ = kDefaultCloseDeadline;
    bool started_ = false;
    bool paused_ = false;
    bool read_armed_ = false;
    bool write_scheduled_ = false;  // a posted write_more() or one in flight
    bool closed_ = false;           // no more callbacks
    bool closing_ = false;          // close(): flushing before shut()
    bool relayed_ = false;
};

// Resolves host:port and connects to the first address that answers, trying
// each in turn. The callback gets the connected stream or an Error
// (remote-server-not-found, the text says why).
using ConnectHandler = std::function<void(Result<std::shared_ptr<TcpStream>>)>;
class TcpConnector : public std::enable_shared_from_this<TcpConnector> {
public:
    static std::shared_ptr<TcpConnector> connect(boost::asio::io_context& io, std::string host,
                                                 std::uint16_t port, ConnectHandler handler);
    void cancel();

private:
    TcpConnector(boost::asio::io_context& io, ConnectHandler handler);
    void try_next();

    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::ip::tcp::socket socket_;
    ConnectHandler handler_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::size_t next_ = 0;
    std::string last_error_;
    bool cancelled_ = false;
};

}  // namespace xpmn::net
