// Writing a state file so that a crash at any moment leaves either the old
// or the new content, never a torn file: the new content goes to a
// temporary file in the same directory (mode 0600), is fsynced, renamed over
// the old one, and the directory is fsynced so the rename itself survives a
// power cut. A crash before the rename leaves a `.NAME.XXXXXX` file nobody
// reads; the next write does not need it.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace xpmn::common {

struct FileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Replaces `path` with `content` (mode 0600). Throws FileError saying which
// step failed; on failure `path` is unchanged and the temporary file removed.
// `before_rename` runs after the temporary file is complete and synced (tests
// crash there).
void write_file_atomically(const std::string& path, std::string_view content,
                           const std::function<void()>& before_rename = {});

// The whole file. Throws FileError (with the errno text) when it cannot be
// read, or when it is larger than `max_bytes`.
std::string read_file(const std::string& path, std::size_t max_bytes);

}  // namespace xpmn::common
