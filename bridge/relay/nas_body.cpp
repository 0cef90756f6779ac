// NAS response bodies as on-demand sources (see header).
#include "bridge/relay/nas_body.hpp"

#include <libsoup/soup.h>

#include <algorithm>
#include <utility>

namespace xpmn::relay {

void defer(std::function<void()> fn) {
    GSource* idle = g_idle_source_new();
    g_source_set_callback(
        idle,
        [](gpointer data) -> gboolean {
            (*static_cast<std::function<void()>*>(data))();
            return G_SOURCE_REMOVE;
        },
        new std::function<void()>(std::move(fn)),
        [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(idle, g_main_context_get_thread_default());
    g_source_unref(idle);
}

Error transport_error(const GError* e, const std::string& what) {
    if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return Error{"remote-server-timeout", what + ": the NAS did not answer in time"};
    return Error{"remote-server-not-found", what + ": " + e->message};
}

namespace {

// The largest single socket read a Source performs, whatever it is asked:
// the OOB sender asks for one chunk (≤ 64 KiB); this only bounds a caller bug.
constexpr std::size_t kMaxRead = 1024 * 1024;
// Dropped bytes (NAS ignoring Range) are read in pieces of this size.
constexpr std::size_t kSkipRead = 64 * 1024;

// The body of one response, read only when asked.
class BodySource final : public oob::Source {
public:
    struct State {
        GRef<SoupSession> session;  // outlives the fetcher if need be
        GRef<SoupMessage> message;
        GRef<GInputStream> stream;
        GRef<GCancellable> cancellable;
        std::uint64_t skip = 0;       // bytes still to drop (NAS ignored Range)
        std::uint64_t remaining = 0;  // bytes still to deliver
        std::uint64_t size = 0;
        bool to_end = true;  // the range ends where the body ends (read its EOF for keep-alive)
        bool reading = false;
        bool ended = false;  // delivered its end or an error, or cancelled
        bool at_eof = false;  // the body's EOF was read
        std::size_t want = 0;
        ReadHandler done;

        // Ends the source. Early (before the body's EOF was read) it cancels
        // the message itself: libsoup then closes the connection instead of
        // reading the rest of the file to keep it alive.
        void release() {
            const bool early = !(remaining == 0 && skip == 0 && at_eof);
            ended = true;
            done = nullptr;
            if (early && cancellable) g_cancellable_cancel(cancellable.get());
            if (stream && !reading) {
                stream.reset();
                message.reset();
            }
        }
    };

    explicit BodySource(std::shared_ptr<State> state) : st_(std::move(state)) {}
    ~BodySource() override { cancel(); }

    void read(std::size_t max, ReadHandler done) override {
        if (st_->ended || st_->reading) {
            // A read after the end or a second read at once is a caller bug;
            // answer it (from the loop) rather than hang the caller.
            defer([done = std::move(done)] { done(Error{"internal-server-error", "NAS body read out of turn"}); });
            return;
        }
        st_->done = std::move(done);
        st_->want = std::clamp<std::size_t>(max, 1, kMaxRead);
        if (st_->remaining == 0 && st_->skip == 0 && !st_->to_end) {
            // A NAS that ignored Range sent more than the range: stop here
            // (the connection cannot be reused and is closed).
            auto handler = std::move(st_->done);
            st_->release();
            defer([handler = std::move(handler)] { handler(std::string()); });
            return;
        }
        start(st_);
    }

    void cancel() override {
        if (!st_->ended) st_->release();
    }

private:
    static void start(const std::shared_ptr<State>& st) {
        std::size_t n;
        if (st->skip > 0)
            n = static_cast<std::size_t>(std::min<std::uint64_t>(st->skip, kSkipRead));
        else if (st->remaining > 0)
            n = static_cast<std::size_t>(std::min<std::uint64_t>(st->want, st->remaining));
        else
            n = 1;  // the EOF, which returns the connection to the pool
        st->reading = true;
        g_input_stream_read_bytes_async(st->stream.get(), n, G_PRIORITY_DEFAULT, st->cancellable.get(), on_read,
                                        new std::shared_ptr<State>(st));
    }

    static void on_read(GObject* object, GAsyncResult* result, gpointer data) {
        std::shared_ptr<State> st = std::move(*static_cast<std::shared_ptr<State>*>(data));
        delete static_cast<std::shared_ptr<State>*>(data);
        st->reading = false;
        GError* raw = nullptr;
        GBytes* bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(object), result, &raw);
        GErrorPtr error(raw);
        if (st->ended) {  // cancelled while the read was pending
            if (bytes) g_bytes_unref(bytes);
            st->release();
            return;
        }
        const std::uint64_t delivered = st->size - st->remaining;
        if (!bytes) {
            finish(st, transport_error(error.get(), "the NAS transfer failed after " + std::to_string(delivered) +
                                                        " of " + std::to_string(st->size) + " bytes"));
            return;
        }
        gsize n = 0;
        const auto* p = static_cast<const char*>(g_bytes_get_data(bytes, &n));
        std::string chunk(p ? p : "", n);
        g_bytes_unref(bytes);
        if (n == 0 && (st->skip > 0 || st->remaining > 0)) {
            finish(st, Error{"remote-server-not-found", "the NAS ended the body after " + std::to_string(delivered) +
                                                            " of " + std::to_string(st->size) + " bytes"});
            return;
        }
        if (st->skip > 0) {
            st->skip -= std::min<std::uint64_t>(st->skip, n);
            start(st);
            return;
        }
        if (st->remaining == 0) {  // the EOF read: the body ended where announced
            st->at_eof = n == 0;
            finish(st, std::string());
            return;
        }
        st->remaining -= n;
        auto handler = std::move(st->done);
        handler(std::move(chunk));
    }

    static void finish(const std::shared_ptr<State>& st, Result<std::string> outcome) {
        auto handler = std::move(st->done);
        st->release();
        if (handler) handler(std::move(outcome));
    }

    std::shared_ptr<State> st_;
};

}  // namespace

oob::SourcePtr make_nas_body_source(GRef<SoupSession> session, GRef<SoupMessage> message,
                                    GRef<GInputStream> stream, GRef<GCancellable> cancellable, BodyCut cut) {
    auto st = std::make_shared<BodySource::State>();
    st->session = std::move(session);
    st->message = std::move(message);
    st->stream = std::move(stream);
    st->cancellable = std::move(cancellable);
    st->skip = cut.skip;
    st->remaining = cut.size;
    st->size = cut.size;
    st->to_end = cut.to_end;
    return std::make_unique<BodySource>(std::move(st));
}

}  // namespace xpmn::relay
