// Small file helpers with the safety kbindex needs: folders it creates are private to the user,
// and small files it reads (config, token) are refused unless they are regular files of a sane
// size, so a FIFO or a device named by mistake cannot hang start-up.
#pragma once

#include <cstddef>
#include <string>

#include "util/status.h"

namespace kb {

// Creates `path` and its missing parents with mode 0700. Existing folders are left as they are.
Status CreatePrivateDirectories(const std::string& path);

// The whole content of the regular file `path`, at most `max_bytes`. NotFound when absent;
// InvalidArgument when it is not a regular file or is larger; IOError otherwise.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);

}  // namespace kb
