#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace peft {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("io", "cannot write '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fflush(f) == 0) && ok;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    std::remove(tmp.c_str());
    fail("io", "cannot write '" + path + "': " + std::strerror(err));
  }
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("io", "cannot read '" + path + "': " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

namespace {

namespace fs = std::filesystem;

// Creates, writes one byte to, and removes a file in `dir`; "" when that
// works, else the reason. One byte is enough to see a full tmpfs or a
// read-only mount; a disk that fills later is caught by the writers.
std::string probe_dir(const fs::path& dir) {
  const fs::path probe = dir / (".peft-write-probe-" + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  std::string why;
  if (::write(fd, "p", 1) != 1) why = std::strerror(errno);
  if (::close(fd) != 0 && why.empty()) why = std::strerror(errno);
  ::unlink(probe.c_str());
  return why;
}

[[noreturn]] void cannot_write(const std::string& area, const std::string& path, const std::string& why) {
  fail(area, "cannot write '" + path + "': " + why);
}

}  // namespace

void check_file_writable(const std::string& path, const std::string& area) {
  std::error_code ec;
  if (path.empty()) fail(area, "the output path is empty");
  if (fs::is_directory(path, ec)) cannot_write(area, path, "it is a folder, not a file");
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::exists(parent, ec)) cannot_write(area, path, "folder '" + parent.string() + "' does not exist");
  if (!fs::is_directory(parent, ec)) cannot_write(area, path, "'" + parent.string() + "' is not a folder");
  std::string why = probe_dir(parent);
  if (!why.empty()) cannot_write(area, path, why);
}

void check_dir_writable(const std::string& dir, const std::string& area) {
  std::error_code ec;
  if (dir.empty()) fail(area, "the output folder is empty");
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) cannot_write(area, dir, "it is a file, not a folder");
  // The parts of the path that do not exist yet, deepest first: made for the
  // probe and removed after it, so a refused run leaves no empty folders.
  std::vector<fs::path> made;
  for (fs::path p = fs::path(dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    made.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::string why;
  if (!made.empty()) {
    fs::create_directories(dir, ec);
    if (ec) why = ec.message();
  }
  if (why.empty()) why = probe_dir(dir);
  for (const fs::path& p : made) fs::remove(p, ec);
  if (!why.empty()) cannot_write(area, dir, why);
}

}  // namespace peft
