// The OOB session's data plane (wire profile §6.2): one multiplexer over the
// secured byte stream of the OOB Jingle session, carrying many ids both
// ways in the chunk framing (chunk_codec.hpp). It owns the stream's
// handlers: bytes go to the receiving half (oob_receiver.hpp), drains to the
// sending half (oob_sender.hpp), and the stream's end ends every open id.
//
// The path of a media byte: the sender pulls it from an oob::Source (a NAS
// range response, a large Directory result) only while the stream's backlog
// is small, frames it as a chunk of its id, taking turns with the other
// ids, and writes it to the TLS stream; the receiver parses it off the peer's
// TLS stream and gives it to the Sink that expect() registered when the IQ
// result named the id (kept, bounded, if it came first).
//
// Ids in each direction are allocated by that direction's sender
// (next_id()); the IQ result carries the id and size, the receiver compares
// the bytes that came with that size (an id that ended short failed).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "xmpp/net/byte_stream.hpp"
#include "xmpp/oob/oob_receiver.hpp"
#include "xmpp/oob/oob_sender.hpp"

namespace xpmn::oob {

class OobMux : public std::enable_shared_from_this<OobMux> {
public:
    struct Handlers {
        // The stream ended by itself (the peer closed it, it failed, or the
        // peer broke the framing): `reason` says why, empty for a clean end
        // by the peer. Every open id has ended with an error by then.
        std::function<void(const std::string& reason)> on_closed;
        // Chunks of `id` came but no expect() claimed it in time; they were
        // dropped: the owner should abort the id at the sender (the abort IQ).
        std::function<void(const std::string& id)> on_unclaimed;
    };

    // Takes over the stream's handlers and starts reading it.
    static std::shared_ptr<OobMux> create(net::ByteStreamPtr stream, Handlers handlers = {},
                                          OobReceiver::Options options = {});
    // Closes the stream if close() did not; no callbacks follow.
    ~OobMux();
    OobMux(const OobMux&) = delete;
    OobMux& operator=(const OobMux&) = delete;

    // Sending (OobSender): allocate an id, send a source's bytes on it, abort it.
    std::string next_id() { return sender_->next_id(); }
    Result<void> send(std::string id, SourcePtr source, OobSender::Finished finished) {
        return sender_->send(std::move(id), std::move(source), std::move(finished));
    }
    void abort(const std::string& id) { sender_->abort(id); }

    // Receiving (OobReceiver): take an id announced by an IQ result.
    Result<void> expect(const std::string& id, std::uint64_t size, Sink sink) {
        return receiver_->expect(id, size, std::move(sink));
    }
    void pause(const std::string& id) { receiver_->pause(id); }
    void resume(const std::string& id) { receiver_->resume(id); }
    void cancel(const std::string& id) { receiver_->cancel(id); }

    // Ends the session from this side: every open id ends with an error
    // (reported from the loop), the stream is closed gracefully; on_closed
    // is not called.
    void close();
    bool closed() const { return closed_; }

    const OobSender& sender() const { return *sender_; }
    const OobReceiver& receiver() const { return *receiver_; }

private:
    OobMux(net::ByteStreamPtr stream, Handlers handlers);
    void end_all(const Error& error);
    void on_stream_end(const std::string& reason);

    net::ByteStreamPtr stream_;
    Handlers handlers_;
    std::shared_ptr<OobSender> sender_;
    std::shared_ptr<OobReceiver> receiver_;
    bool closed_ = false;
};

}  // namespace xpmn::oob
