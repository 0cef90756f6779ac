// A byte source an out-of-band sender pulls from (wire profile §6.2): the
// sender asks for the next piece only when the transport has drained what it
// sent before, so a source never holds more than one read and memory per
// transfer stays bounded whatever the file size or the reader's speed. The
// NAS relay (an HTTP range response) and a large Directory result are
// sources; so is a file on the controller side.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "xmpp/core/result.hpp"

namespace xpmn::oob {

class Source {
public:
    // Data of at most the size asked for; an empty string is the end of the
    // source (all its bytes were given). An Error ends it early (e.g. the NAS
    // failed mid-stream): the receiver must learn the id ended short.
    using ReadHandler = std::function<void(Result<std::string>)>;

    virtual ~Source() = default;
    // At most one read outstanding. `done` runs once, from the event loop
    // and never inside read(), unless cancel() came first.
    virtual void read(std::size_t max, ReadHandler done) = 0;
    // Stops early (abort, session gone): no callback follows and what the
    // source holds (a NAS connection, a file) is released.
    virtual void cancel() = 0;
};

using SourcePtr = std::unique_ptr<Source>;

}  // namespace xpmn::oob
