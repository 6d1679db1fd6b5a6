#include "api/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/files.h"

namespace kb::api {

Status LoadOrCreateToken(const std::string& path, std::string* out) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) KB_RETURN_IF_ERROR(CreatePrivateDirectories(parent.string()));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
      return Status::InvalidArgument("API token file " + path +
                                     " is readable by others; run: chmod 600 " + path);
    }
    KB_ASSIGN_OR_RETURN(std::string token, ReadSmallFile(path, 4096));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes) {
      return Status::InvalidArgument("API token in " + path + " is " + std::to_string(token.size()) +
                                     " bytes; it must be " + std::to_string(kMinTokenBytes) + " to " +
                                     std::to_string(kMaxTokenBytes));
    }
    for (char c : token) {
      if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) {
        return Status::InvalidArgument("API token in " + path + " must be printable ASCII without spaces");
      }
    }
    *out = std::move(token);
    return Status::Ok();
  }
  unsigned char raw[32];
  {
    const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::read(fd, raw, sizeof raw) != static_cast<ssize_t>(sizeof raw)) {
      if (fd >= 0) ::close(fd);
      return Status::IOError("cannot read /dev/urandom");
    }
    ::close(fd);
  }
  static const char* kHex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : raw) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  // O_EXCL: if two servers start at once, one creates and the other reads.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return LoadOrCreateToken(path, out);
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  std::string line = token;
  line.push_back('\n');
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) return Status::IOError("cannot write " + path);
  *out = std::move(token);
  return Status::Ok();
}


bool TokensEqual(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace kb::api
