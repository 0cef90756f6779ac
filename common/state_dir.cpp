#include "common/state_dir.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>

namespace xpmn::common {

void ensure_state_dir(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        fs::create_directories(path, ec);
        if (ec) throw std::runtime_error("cannot create state_dir " + path + ": " + ec.message());
        ::chmod(path.c_str(), 0700);
    }
    if (!fs::is_directory(path, ec)) throw std::runtime_error("state_dir " + path + " is not a directory");
}

}  // namespace xpmn::common
