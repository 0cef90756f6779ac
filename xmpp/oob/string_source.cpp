#include "xmpp/oob/string_source.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace xpmn::oob {

StringSource::StringSource(boost::asio::io_context& io, std::string data) : io_(io), data_(std::move(data)) {}

StringSource::~StringSource() { *alive_ = false; }

void StringSource::read(std::size_t max, ReadHandler done) {
    std::size_t n = std::min(max, data_.size() - at_);
    std::string piece = data_.substr(at_, n);
    at_ += n;
    boost::asio::post(io_, [alive = alive_, piece = std::move(piece), done = std::move(done)]() mutable {
        if (*alive) done(std::move(piece));
    });
}

void StringSource::cancel() {
    *alive_ = false;
    alive_ = std::make_shared<bool>(true);
    data_.clear();
    at_ = 0;
}

}  // namespace xpmn::oob
