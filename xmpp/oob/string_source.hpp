// An oob::Source over bytes already in memory: a large Directory result
// (wire profile §5) sent on the out-of-band session. Reads are answered
// from the event loop, as the Source contract asks.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "xmpp/oob/source.hpp"

namespace xpmn::oob {

class StringSource : public Source {
public:
    StringSource(boost::asio::io_context& io, std::string data);
    ~StringSource() override;
    void read(std::size_t max, ReadHandler done) override;
    void cancel() override;

private:
    boost::asio::io_context& io_;
    std::string data_;
    std::size_t at_ = 0;
    // Lets a posted answer know the source is gone or was cancelled.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace xpmn::oob
