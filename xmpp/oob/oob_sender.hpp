// The sending half of the OOB multiplexer (wire profile §6.2): ids fed from
// oob::Sources, framed as chunks onto one secured stream.
//
// - Back-pressure: a source is asked for its next chunk only while the
//   stream's write backlog plus the reads under way (each counted as a full
//   chunk) stay under kMaxPending; otherwise the sender waits for the
//   stream's drain. Memory per session is a few chunks whatever the sources
//   and however slowly the peer reads.
// - Fairness: ids take turns, one read each in rotation (at most one read
//   per id under way), so a small result started next to a large file goes
//   out after at most a few of the large file's chunks.
// - The end of an id is always the zero chunk. When a source fails, the id
//   ends the same way, early: the receiver learns it from the byte count
//   falling short of the size the IQ result announced. abort() ends an id
//   the same way and cancels its source.
// `finished` runs once per id, from the event loop (never inside send() or
// abort()): ok when the source's every byte was queued; else why not (the
// source's error, the abort, the stream closing). None runs after the
// sender is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "xmpp/core/result.hpp"
#include "xmpp/net/byte_stream.hpp"
#include "xmpp/oob/chunk_codec.hpp"
#include "xmpp/oob/source.hpp"

namespace xpmn::oob {

class OobSender : public std::enable_shared_from_this<OobSender> {
public:
    // Bytes queued on the stream or being read from sources beyond which no
    // source is read; a handful of chunks keeps the link busy between drains.
    static constexpr std::size_t kMaxPending = 4 * kMaxChunkSize;

    using Finished = std::function<void(Result<void>)>;

    explicit OobSender(net::ByteStreamPtr stream);

    // A fresh id for an IQ result to announce: unique in this session's
    // sending direction (a decimal counter; ids are never reused).
    std::string next_id();
    // Starts sending `id` from `source`. Errors: an invalid id, an id already
    // being sent (conflict), or the stream already closed.
    Result<void> send(std::string id, SourcePtr source, Finished finished);
    // Stops reading the source (cancel) and ends the id with the zero chunk;
    // `finished` gets an error. Unknown or finished ids are ignored.
    void abort(const std::string& id);

    // From the multiplexer: the stream drained; the stream closed (every id
    // ends with `error`, no further send() is taken).
    void on_drained();
    void close(const Error& error);

    std::size_t active() const { return outgoing_.size(); }

private:
    struct Outgoing {
        std::string id;
        SourcePtr source;
        Finished finished;
        std::uint64_t serial = 0;  // tells a stale read completion from a new id's
        bool reading = false;
    };
    using Iter = std::list<Outgoing>::iterator;

    void pump();
    void on_read(std::uint64_t serial, Result<std::string> piece);
    void end(Iter it, Result<void> outcome);
    Iter find(const std::string& id);

    net::ByteStreamPtr stream_;
    std::list<Outgoing> outgoing_;  // rotation order: the front reads next
    std::size_t reads_ = 0;         // reads under way
    std::uint64_t next_id_ = 1;
    std::uint64_t next_serial_ = 1;
    bool closed_ = false;
};

}  // namespace xpmn::oob
