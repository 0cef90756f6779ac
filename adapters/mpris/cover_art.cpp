#include "adapters/mpris/cover_art.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "mappings/didl/metadata_xml.hpp"
#include "mappings/mpris/mpris_metadata.hpp"
#include "xmpp/oob/string_source.hpp"

namespace xpmn::mpris {

namespace {

Error not_found(const std::string& why) { return Error{"item-not-found", why}; }

// The whole file when it is a regular file of at most `max` bytes. Opened
// non-blocking so that a FIFO put where the art was cannot stall the loop.
Result<std::string> read_small_file(const std::string& path, std::uint64_t max) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return not_found(std::string("the cover art is unreadable: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return not_found(std::string("the cover art is unreadable: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return not_found("the cover art is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > max) return not_found("the cover art is too large to serve");
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return not_found(std::string("the cover art is unreadable: ") + std::strerror(errno));
        if (n == 0) break;  // shrank meanwhile: serve what is there
        got += static_cast<std::size_t>(n);
    }
    data.resize(got);
    return data;
}

}  // namespace

std::string image_type(std::string_view h) {
    auto starts = [&](std::string_view p) { return h.substr(0, p.size()) == p; };
    if (starts("\xFF\xD8\xFF")) return "image/jpeg";
    if (starts("\x89PNG\r\n\x1A\n")) return "image/png";
    if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
    if (starts("RIFF") && h.size() >= 12 && h.substr(8, 4) == "WEBP") return "image/webp";
    if (starts("BM")) return "image/bmp";
    return "application/octet-stream";
}

CoverArt::CoverArt(boost::asio::io_context& io, std::string device_full_jid, std::size_t max_entries,
                   std::uint64_t max_bytes)
    : io_(io), device_(std::move(device_full_jid)), max_entries_(max_entries ? max_entries : 1), max_bytes_(max_bytes) {}

std::optional<std::string> CoverArt::announce(const std::string& art_url) {
    auto path = mappings::local_file_path(art_url);
    if (!path) return std::nullopt;
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->path == *path) {
            entries_.splice(entries_.end(), entries_, it);  // the newest again
            return mappings::transfer_uri(device_, it->uid);
        }
    entries_.push_back(Entry{"art-" + std::to_string(++next_), *path});
    while (entries_.size() > max_entries_) entries_.pop_front();
    return mappings::transfer_uri(device_, entries_.back().uid);
}

const CoverArt::Entry* CoverArt::find_uid(const std::string& uid) const {
    for (const auto& e : entries_)
        if (e.uid == uid) return &e;
    return nullptr;
}

std::optional<std::string> CoverArt::object_of(const std::string& uid) const {
    if (!find_uid(uid)) return std::nullopt;
    return uid;
}

void CoverArt::open(const profiles::TransferRequest& request, profiles::OpenCallback done) {
    auto answer = [this, &done](Result<profiles::OpenedMedia> r) {
        boost::asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    };
    const Entry* entry = find_uid(request.uid);
    if (!entry) return answer(not_found("no such cover art (it was not announced by the player, or is forgotten)"));
    auto data = read_small_file(entry->path, max_bytes_);
    if (!data) return answer(data.error());
    const std::uint64_t total = data->size();
    const std::uint64_t from = request.from.value_or(0);
    if ((request.from || request.to) && from >= total)
        return answer(Error{"range-not-satisfiable", "the cover art has " + std::to_string(total) + " bytes"});
    const std::uint64_t to = total == 0 ? 0 : std::min(request.to.value_or(total - 1), total - 1);
    std::string part = total == 0 ? std::string() : data->substr(from, to - from + 1);
    profiles::OpenedMedia media;
    media.total = total;
    media.size = part.size();
    media.type = image_type(*data);
    media.source = std::make_unique<oob::StringSource>(io_, std::move(part));
    answer(std::move(media));
}

}  // namespace xpmn::mpris
