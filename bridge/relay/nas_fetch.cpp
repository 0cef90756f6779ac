// NasFetcher: libsoup 3 GET with Range, the response checks, and the body as
// an on-demand oob::Source (see header).
#include "bridge/relay/nas_fetch.hpp"

#include <libsoup/soup.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "bridge/relay/gobject_ref.hpp"
#include "bridge/relay/nas_body.hpp"

namespace xpmn::relay {

namespace {

constexpr auto kUriFlags = static_cast<GUriFlags>(SOUP_HTTP_URI_FLAGS);

struct GUriUnref {
    void operator()(GUri* u) const { g_uri_unref(u); }
};
using UriPtr = std::unique_ptr<GUri, GUriUnref>;

Error bad_answer(const std::string& text) { return Error{"undefined-condition", "the NAS answered badly: " + text}; }

// Gerbera answers a range starting exactly at the end of the file with a 206
// and the empty `Content-Range: bytes N-(N-1)/N`: the range lies outside it.
bool empty_range_at_end(const char* content_range, const RangeSpec& asked) {
    std::string_view cr = content_range;
    auto slash = cr.rfind('/');
    if (slash == std::string_view::npos) return false;
    std::uint64_t total = 0;
    auto [p, ec] = std::from_chars(cr.data() + slash + 1, cr.data() + cr.size(), total);
    return ec == std::errc() && p == cr.data() + cr.size() && !asked.suffix && asked.first >= total &&
           cr.find(std::to_string(total) + "-" + std::to_string(total - 1) + "/") != std::string_view::npos;
}

int effective_port(GUri* uri) {
    const int port = g_uri_get_port(uri);
    if (port > 0) return port;
    return g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") == 0 ? 443 : 80;
}

bool same_origin(GUri* a, GUri* b) {
    return g_ascii_strcasecmp(g_uri_get_scheme(a), g_uri_get_scheme(b)) == 0 &&
           g_ascii_strcasecmp(g_uri_get_host(a), g_uri_get_host(b)) == 0 &&
           effective_port(a) == effective_port(b);
}

std::string origin_of(GUri* uri) {
    return std::string(g_uri_get_host(uri)) + ":" + std::to_string(effective_port(uri));
}

bool is_redirect(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

struct NasFetcher::Request : std::enable_shared_from_this<Request> {
    NasFetcher* owner;  // null once the fetcher is gone
    GRef<SoupSession> session;
    UriPtr uri;  // current (after redirects)
    std::optional<RangeSpec> range;
    OpenHandler done;
    int redirects = 0;
    bool without_range = false;  // the NAS refused the Range header (400)
    bool open_ended = false;     // the NAS refused a `to` past the end (416)

    // The Range header sent: what was asked, unless the NAS refused it.
    std::optional<RangeSpec> sent_range() const {
        if (!range || without_range) return std::nullopt;
        if (open_ended) return RangeSpec::from_to(range->first);
        return range;
    }
    GRef<SoupMessage> message;
    GRef<GCancellable> cancellable{g_cancellable_new()};

    // Hands the outcome over once; the request leaves the pending set.
    void complete(Result<NasBody> outcome) {
        if (!owner) return;
        auto handler = std::move(done);
        owner->pending_.erase(shared_from_this());
        owner = nullptr;
        handler(std::move(outcome));
    }
};

NasFetcher::NasFetcher(Options options)
    : session_(soup_session_new_with_options("timeout", options.timeout_seconds, "max-conns", kMaxConnections,
                                             "max-conns-per-host", kMaxConnectionsPerHost, nullptr)) {
    // The NAS is on the LAN: an environment proxy must not see the request.
    soup_session_set_proxy_resolver(session_, nullptr);
    // Ranges are offsets into the file: no content coding.
    soup_session_remove_feature_by_type(session_, SOUP_TYPE_CONTENT_DECODER);
}

NasFetcher::~NasFetcher() {
    for (const auto& request : pending_) {
        request->owner = nullptr;
        g_cancellable_cancel(request->cancellable.get());
    }
    g_object_unref(session_);
}

void NasFetcher::open(const std::string& url, std::optional<RangeSpec> range, OpenHandler done) {
    GError* raw = nullptr;
    GUri* uri = g_uri_parse(url.c_str(), kUriFlags, &raw);
    GErrorPtr error(raw);
    if (!uri || (g_ascii_strcasecmp(g_uri_get_scheme(uri), "http") != 0 &&
                 g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") != 0)) {
        if (uri) g_uri_unref(uri);
        defer([done = std::move(done)] { done(Error{"undefined-condition", "the media URL is not an http URL"}); });
        return;
    }
    auto request = std::make_shared<Request>();
    request->owner = this;
    request->session = add_ref(session_);
    request->uri.reset(uri);
    request->range = range;
    request->done = std::move(done);
    pending_.insert(request);
    send(request);
}

void NasFetcher::send(std::shared_ptr<Request> request) {
    request->message.reset(soup_message_new_from_uri("GET", request->uri.get()));
    SoupMessage* msg = request->message.get();
    soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
    if (const auto sent = request->sent_range())
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Range", format_range(*sent).c_str());
    SoupSession* session = request->session.get();
    GCancellable* cancellable = request->cancellable.get();
    soup_session_send_async(session, msg, G_PRIORITY_DEFAULT, cancellable, sent,
                            new std::shared_ptr<Request>(std::move(request)));
}

void NasFetcher::sent(GObject* session, GAsyncResult* result, gpointer data) {
    std::shared_ptr<Request> request = std::move(*static_cast<std::shared_ptr<Request>*>(data));
    delete static_cast<std::shared_ptr<Request>*>(data);
    GError* raw = nullptr;
    GInputStream* body = soup_session_send_finish(SOUP_SESSION(session), result, &raw);
    GErrorPtr error(raw);
    GRef<GInputStream> stream(body);
    if (!request->owner) return;  // the fetcher is gone
    if (!body) {
        request->complete(transport_error(error.get(), "the NAS could not be fetched"));
        return;
    }
    on_headers(request, stream.release());
}

void NasFetcher::on_headers(const std::shared_ptr<Request>& request, GInputStream* body) {
    GRef<GInputStream> stream(body);
    SoupMessage* msg = request->message.get();
    SoupMessageHeaders* headers = soup_message_get_response_headers(msg);
    const unsigned status = soup_message_get_status(msg);
    // Drops a response whose body is not wanted: cancelling the message
    // closes its connection rather than reading an unbounded body to reuse
    // it. A redirect sends again under a fresh cancellable.
    auto drop = [&] {
        g_cancellable_cancel(request->cancellable.get());
        stream.reset();
        request->cancellable.reset(g_cancellable_new());
    };

    if (is_redirect(status)) {
        drop();
        const char* location = soup_message_headers_get_one(headers, "Location");
        GUri* next = location ? g_uri_parse_relative(request->uri.get(), location, kUriFlags, nullptr)
                              : nullptr;
        if (!next) {
            request->complete(bad_answer("a redirect without a usable Location"));
            return;
        }
        UriPtr target(next);
        if (!same_origin(request->uri.get(), next)) {
            request->complete(Error{"not-allowed", "the NAS redirected to another host (" + origin_of(next) +
                                                       "); only redirects to " + origin_of(request->uri.get()) +
                                                       " are followed"});
            return;
        }
        if (++request->redirects > kMaxRedirects) {
            request->complete(bad_answer("more than " + std::to_string(kMaxRedirects) + " redirects"));
            return;
        }
        request->uri = std::move(target);
        send(request);
        return;
    }
    if (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_GONE) {
        drop();
        request->complete(Error{"item-not-found", "the NAS no longer has this file (HTTP " + std::to_string(status) + ")"});
        return;
    }
    if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && request->range && request->range->last &&
        !request->open_ended) {
        // minidlna answers 416 to a `to` past the end, which RFC 9110 cuts to
        // the end: ask from `from` on and cut the body to the range.
        drop();
        request->open_ended = true;
        send(request);
        return;
    }
    if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE) {
        drop();
        std::string text = "the range is outside the file";
        const char* cr = soup_message_headers_get_one(headers, "Content-Range");
        if (auto parsed = cr ? parse_content_range(cr) : Result<ContentRange>(Error{}); parsed && parsed->total)
            text += " (the file has " + std::to_string(*parsed->total) + " bytes)";
        request->complete(Error{kRangeNotSatisfiable, text});
        return;
    }
    if (status == SOUP_STATUS_BAD_REQUEST && request->range && !request->without_range) {
        // minidlna answers 400, not 416, to a range past the end: ask for
        // the whole file, whose length then decides (range-not-satisfiable,
        // or the range cut out of it).
        drop();
        request->without_range = true;
        send(request);
        return;
    }
    if (status != SOUP_STATUS_OK && status != SOUP_STATUS_PARTIAL_CONTENT) {
        drop();
        request->complete(Error{"undefined-condition", "the NAS answered HTTP " + std::to_string(status) + " " +
                                                           (soup_message_get_reason_phrase(msg) ? soup_message_get_reason_phrase(msg) : "")});
        return;
    }
    const char* coding = soup_message_headers_get_one(headers, "Content-Encoding");
    if (coding && g_ascii_strcasecmp(coding, "identity") != 0) {
        drop();
        request->complete(bad_answer(std::string("a coded body (") + coding + ")"));
        return;
    }
    const bool has_length = soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH;
    const goffset length = soup_message_headers_get_content_length(headers);

    // What the body holds: the Content-Range of a 206, the whole file of a 200.
    const char* cr = soup_message_headers_get_one(headers, "Content-Range");
    std::optional<ByteSpan> held;
    std::uint64_t total = 0;
    if (status == SOUP_STATUS_PARTIAL_CONTENT) {
        auto parsed = cr ? parse_content_range(cr) : Result<ContentRange>(Error{"bad-request", "missing"});
        if (!request->range || !parsed || !parsed->span || !parsed->total ||
            (has_length && static_cast<std::uint64_t>(length) != parsed->span->size())) {
            drop();
            if (request->range && !parsed && cr && empty_range_at_end(cr, *request->range)) {
                request->complete(Error{kRangeNotSatisfiable, "the range is outside the file"});
                return;
            }
            request->complete(bad_answer(std::string("a 206 with Content-Range ") + (cr ? cr : "(none)") +
                                         " to a request for " +
                                         (request->range ? format_range(*request->range) : "the whole file")));
            return;
        }
        held = parsed->span;
        total = *parsed->total;
    } else {
        if (!has_length) {
            drop();
            request->complete(bad_answer("no Content-Length (the size must be known)"));
            return;
        }
        total = static_cast<std::uint64_t>(length);
        if (total > 0) held = ByteSpan{0, total - 1};
    }
    // What the source gives: the range asked for, cut out of what is held
    // when the NAS sent more (it ignored Range, or minidlna's answer of the
    // whole rest to `bytes=0-0`).
    BodyCut cut;
    if (request->range) {
        auto wanted = resolve_range(*request->range, total);
        if (!wanted) {
            drop();
            request->complete(wanted.error());
            return;
        }
        if (!held || wanted->first < held->first || wanted->last > held->last) {
            drop();
            request->complete(bad_answer(std::string("Content-Range ") + (cr ? cr : "(none)") + " does not hold " +
                                         format_range(*request->range)));
            return;
        }
        if (wanted->first - held->first > kMaxSkipBytes) {
            drop();
            request->complete(Error{"not-allowed", "the NAS ignores the range asked for and it starts past " +
                                                       std::to_string(kMaxSkipBytes) + " bytes of its answer"});
            return;
        }
        cut.skip = wanted->first - held->first;
        cut.size = wanted->size();
        cut.to_end = wanted->last == held->last;
    } else {
        cut.size = total;
    }
    NasBody out;
    out.total = total;
    const char* type = soup_message_headers_get_content_type(headers, nullptr);
    out.type = type && *type ? type : "application/octet-stream";
    out.size = cut.size;
    // The message's own cancellable: cancelling the body closes the connection.
    out.source = make_nas_body_source(add_ref(request->session.get()), add_ref(msg), std::move(stream),
                                      add_ref(request->cancellable.get()), cut);
    request->complete(std::move(out));
}

}  // namespace xpmn::relay
