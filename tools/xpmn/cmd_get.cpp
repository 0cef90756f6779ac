// `xpmn get URI -o FILE [--range A-B]`: one transfer (wire profile §6) into
// a file. The body is pulled only as fast as the file takes it (a write
// blocks the loop, the next read waits for it), so a slow disk pushes back
// through the OOB id to the NAS. Without --range an existing FILE is
// resumed: the request starts one byte before its end, and that byte must
// match the file's last one (a different file at that name is not appended
// to); a complete file is left as it is.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>

#include "tools/xpmn/commands.hpp"
#include "tools/xpmn/progress.hpp"
#include "controller/transfer_client.hpp"

namespace xpmn::tools {

using controller::IncomingTransfer;
using controller::TransferUri;
using controller::open_transfer;

namespace {

constexpr std::size_t kReadSize = 64 * 1024;  // one OOB chunk
// A finished download is fsync'ed (it is on disk when xpmn says "got"); the
// kernel is asked to start writing back every this many bytes on the way,
// so that the final fsync finds little left and disk and network overlap.
constexpr std::uint64_t kWriteBehind = 8 * 1024 * 1024;

std::optional<std::uint64_t> offset(std::string_view s) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return n;
}

struct Download : std::enable_shared_from_this<Download> {
    Controller& c;
    GetOptions options;
    Controller::Done done;
    int fd = -1;
    std::uint64_t resume_from = 0;  // bytes of the file kept (resume); 0 otherwise
    bool resuming = false;
    bool created = false;           // the file did not exist before this download
    bool regular_file = false;
    std::uint64_t written_back = 0;  // received bytes whose write-back was started
    char last_byte = 0;             // the kept file's last byte, compared with the first one received
    IncomingTransfer transfer;
    std::uint64_t received = 0;
    std::uint64_t seen_at_check = 0;
    boost::asio::steady_timer stall;
    std::unique_ptr<Progress> progress;

    Download(Controller& c, GetOptions o, Controller::Done d)
        : c(c), options(std::move(o)), done(std::move(d)), stall(c.io()) {}
    ~Download() {
        if (fd >= 0) ::close(fd);
    }

    bool ended = false;

    void fail(const std::string& message, int code = 1) {
        if (std::exchange(ended, true)) return;
        // Refused before a byte came: leave no empty file behind.
        if (created && !transfer.body && ::unlink(options.output.c_str()) != 0)
            std::cerr << "xpmn: " << options.output << ": " << std::strerror(errno) << "\n";
        stall.cancel();
        if (progress) progress->clear();
        if (transfer.body) transfer.body->cancel();
        std::cerr << "xpmn: " << message << "\n";
        done(code);
    }

    // Opened (and created if need be) before asking the device, so that an
    // unwritable path fails at once; an existing file is truncated only once
    // the device answered, so a refused request destroys nothing.
    void start(const TransferUri& uri, std::optional<std::uint64_t> from, std::optional<std::uint64_t> to) {
        const int flags = O_WRONLY | O_CLOEXEC | (resuming ? O_APPEND : 0);
        fd = ::open(options.output.c_str(), flags | O_CREAT | O_EXCL, 0644);
        created = fd >= 0;
        if (fd < 0 && errno == EEXIST) fd = ::open(options.output.c_str(), flags);
        if (fd < 0) return fail(options.output + ": " + std::strerror(errno), 2);
        open_transfer(c, uri, from, to, [self = shared_from_this()](Result<IncomingTransfer> t) {
            if (!t && self->resuming && t.error().condition == "range-not-satisfiable")
                return self->fail(self->options.output + " is longer than the file on the device: "
                                                         "remove it or choose another name");
            if (!t) return self->fail(t.error().text.empty() ? t.error().condition : t.error().text);
            self->began(std::move(t).value());
        });
    }

    void began(IncomingTransfer t) {
        transfer = std::move(t);
        struct stat st {};
        if (::fstat(fd, &st) != 0) return fail(options.output + ": " + std::strerror(errno));
        regular_file = S_ISREG(st.st_mode);
        if (!resuming && regular_file && ::ftruncate(fd, 0) != 0)  // not a pipe or a device
            return fail(options.output + ": " + std::strerror(errno));
        c.watching();  // a long file outlasts --timeout; the stall check below takes over
        progress = std::make_unique<Progress>(transfer.size, resume_from);
        arm_stall();
        pull();
    }

    // No byte for a whole --timeout: the transfer is stuck.
    void arm_stall() {
        stall.expires_after(c.request_timeout());
        stall.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self) return;
            if (self->received == self->seen_at_check)
                return self->fail("no data for " + std::to_string(self->c.request_timeout().count() / 1000) +
                                  " s: the transfer stalled");
            self->seen_at_check = self->received;
            self->arm_stall();
        });
    }

    void pull() {
        transfer.body->read(kReadSize, [self = shared_from_this()](Result<std::string> r) { self->on_read(std::move(r)); });
    }

    void on_read(Result<std::string> r) {
        if (!r)
            return fail("the transfer ended after " + std::to_string(received) + " of " +
                        std::to_string(transfer.size) + " bytes: " + r.error().text);
        std::string& data = *r;
        if (data.empty()) return finish();
        if (received + data.size() > transfer.size) return fail("the device sent more than the announced size");
        std::string_view out = data;
        if (resuming && received == 0) {
            if (out[0] != last_byte)
                return fail(options.output + " is not the beginning of this file (its last byte differs); "
                                             "remove it or choose another name");
            out.remove_prefix(1);
        }
        received += data.size();
        while (!out.empty()) {
            ssize_t n = ::write(fd, out.data(), out.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail(options.output + ": " + std::strerror(errno));
            out.remove_prefix(static_cast<std::size_t>(n));
        }
        progress->update(received);
        write_behind();
        pull();
    }

    // Best effort (a pipe or a file system without it just waits for the fsync).
    void write_behind() {
        if (!regular_file || received - written_back < kWriteBehind) return;
        auto offset = static_cast<off64_t>(resume_from + written_back);
        auto length = static_cast<off64_t>(received - written_back);
        (void)::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
        written_back = received;
    }

    void finish() {
        if (ended) return;
        stall.cancel();
        progress->done(received);
        if (received != transfer.size)
            return fail("got " + std::to_string(received) + " bytes, the device announced " +
                        std::to_string(transfer.size));
        if (::fsync(fd) != 0 && errno != EINVAL) return fail(options.output + ": " + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) return fail(options.output + ": " + std::strerror(errno));
        bool whole = options.range.empty();
        if (whole && static_cast<std::uint64_t>(st.st_size) != transfer.total)
            return fail(options.output + " has " + std::to_string(st.st_size) + " bytes, the file " +
                        std::to_string(transfer.total));
        std::uint64_t written = resuming ? received - 1 : received;
        if (resuming && written == 0)
            std::cout << options.output << " is already complete (" << st.st_size << " bytes); got 0 bytes via "
                      << transfer.path << "\n";
        else
            std::cout << "got " << written << " bytes via " << transfer.path << "\n";
        ended = true;
        done(0);
    }
};

}  // namespace

void get(Controller& c, const GetOptions& o, Controller::Done done) {
    auto uri = TransferUri::parse(o.uri);
    if (!uri) {
        std::cerr << "xpmn: " << uri.error().text << "\n";
        return done(2);
    }
    auto d = std::make_shared<Download>(c, o, std::move(done));
    std::optional<std::uint64_t> from, to;
    if (!o.range.empty()) {
        auto dash = o.range.find('-');
        auto a = dash == std::string::npos ? std::nullopt : offset(std::string_view(o.range).substr(0, dash));
        auto b = offset(std::string_view(o.range).substr(dash == std::string::npos ? 0 : dash + 1));
        bool open_end = dash != std::string::npos && dash + 1 == o.range.size();
        if (!a || (!b && !open_end) || (b && *b < *a))
            return d->fail("--range takes A-B (inclusive byte offsets, A <= B) or A-, got '" + o.range + "'", 2);
        from = a;
        if (!open_end) to = b;
    } else {
        struct stat st {};
        if (::stat(o.output.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            // Resume: ask from the last byte we have, to learn the total and check it.
            int fd = ::open(o.output.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || ::pread(fd, &d->last_byte, 1, st.st_size - 1) != 1) {
                if (fd >= 0) ::close(fd);
                return d->fail(o.output + ": " + std::strerror(errno), 2);
            }
            ::close(fd);
            d->resuming = true;
            d->resume_from = static_cast<std::uint64_t>(st.st_size) - 1;
            from = d->resume_from;
        }
    }
    d->start(*uri, from, to);
}

}  // namespace xpmn::tools
