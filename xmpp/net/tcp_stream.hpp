// ByteStream over an Asio TCP socket.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <array>
#include <deque>
#include <vector>

#include "xmpp/net/byte_stream.hpp"

namespace xpmn::net {

class TcpStream : public ByteStream, public std::enable_shared_from_this<TcpStream> {
public:
    explicit TcpStream(boost::asio::ip::tcp::socket socket);
    ~TcpStream() override;

    void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
    void start() override;
    void write(std::string bytes) override;
    std::size_t write_backlog() const override { return backlog_; }
    void close() override;

    boost::asio::ip::tcp::socket& socket() { return socket_; }

private:
    void read_more();
    void write_more();
    void fail(const std::string& reason);

    boost::asio::ip::tcp::socket socket_;
    Handlers handlers_;
    std::array<char, 16384> read_buf_{};
    std::deque<std::string> queue_;
    std::size_t backlog_ = 0;
    bool writing_ = false;
    bool reading_ = false;
    bool closed_ = false;
    bool close_after_write_ = false;
};

// Resolves host:port and connects to the first address that answers, trying
// each in turn. The callback gets the connected stream or an error text.
using ConnectHandler = std::function<void(std::shared_ptr<TcpStream>, const std::string& error)>;
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
