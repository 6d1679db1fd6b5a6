// Test helpers: a temporary directory removed at scope exit, and small file utilities.
#pragma once

#include <string>

namespace kb::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + rel
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Writes `content` to `path`, creating parent folders.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);
// Sets the file's mtime to now + offset_ns (so a rewrite with equal size is detected).
void BumpMtime(const std::string& path, long long offset_ns = 1'000'000'000LL);

}  // namespace kb::test
