#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace xpmn::common {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

// Closes the descriptor and removes the temporary file unless released.
struct TempFile {
    int fd = -1;
    std::string path;
    ~TempFile() {
        if (fd >= 0) ::close(fd);
        if (!path.empty()) ::unlink(path.c_str());
    }
};

void write_all(int fd, std::string_view content, const std::string& path) {
    while (!content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw FileError(errno_text("cannot write", path));
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view content,
                           const std::function<void()>& before_rename) {
    namespace fs = std::filesystem;
    fs::path target(path);
    fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string pattern = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');

    TempFile temp;
    temp.fd = ::mkstemp(name.data());  // mode 0600, O_EXCL: never someone else's file
    if (temp.fd < 0) throw FileError(errno_text("cannot create a temporary file for", path));
    temp.path = name.data();
    write_all(temp.fd, content, temp.path);
    if (::fsync(temp.fd) != 0) throw FileError(errno_text("cannot sync", temp.path));
    if (before_rename) before_rename();
    if (::rename(temp.path.c_str(), path.c_str()) != 0) throw FileError(errno_text("cannot replace", path));
    temp.path.clear();  // renamed: nothing to remove

    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw FileError(errno_text("cannot open directory", dir.string()));
    int rc = ::fsync(dfd);
    int saved = errno;
    ::close(dfd);
    errno = saved;
    if (rc != 0) throw FileError(errno_text("cannot sync directory", dir.string()));
}

std::string read_file(const std::string& path, std::size_t max_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw FileError(errno_text("cannot open", path));
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int saved = errno;
            ::close(fd);
            errno = saved;
            throw FileError(errno_text("cannot read", path));
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes) {
            ::close(fd);
            throw FileError(path + " is larger than " + std::to_string(max_bytes) + " bytes");
        }
    }
    ::close(fd);
    return out;
}

}  // namespace xpmn::common
