#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace peft::test {

namespace {
// The CLI's --base-dtype defaults to auto, which holds f32 files as bf16 on
// CPUs with bf16 instructions; the suite's exact comparisons (goldens,
// llama.cpp's f32 numbers) are about the f32 base, so every peft the tests
// start defaults to f32 unless the caller's environment says otherwise.
// Tests of other storage types pass --base-dtype explicitly.
[[maybe_unused]] const bool kPinnedBaseDtype = setenv("PEFT_BASE_DTYPE", "f32", 0) == 0;
}  // namespace

std::string shared_path(const std::string& rel) {
  const char* env = std::getenv("PEFT_SHARED");
  fs::path base = env && *env ? fs::path(env) : fs::path(PEFT_SOURCE_DIR) / ".." / "shared";
  fs::path p = base / rel;
  if (!fs::exists(p)) {
    throw std::runtime_error("shared test file missing: " + p.string() + " (set PEFT_SHARED)");
  }
  return fs::absolute(p).lexically_normal().string();
}


CliResult run_cli(const std::vector<std::string>& args) {
  const char* bin = std::getenv("PEFT_BIN");
  return run_program(bin && *bin ? bin : std::string(PEFT_BINARY_DIR) + "/bin/peft", args);
}

CliResult run_program(const std::string& exe, const std::vector<std::string>& args) {
  std::string dir = temp_dir("cli");
  std::string out_path = dir + "/out", err_path = dir + "/err";
  std::fflush(nullptr);  // or the child would write our buffered output again
  pid_t pid = fork();
  if (pid == 0) {
    FILE* o = std::freopen(out_path.c_str(), "w", stdout);
    FILE* e = std::freopen(err_path.c_str(), "w", stderr);
    (void)o;
    (void)e;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  fs::remove_all(dir);
  return r;
}

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  fs::path p = fs::temp_directory_path() /
               ("peft-test-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace peft::test
