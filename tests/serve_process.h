// A real `peft serve` process for the service's end-to-end tests: an index
// built by `peft index build` from a slice of ../shared/data/manpages-ir
// with stories260K as the (decoder) embedder, the binary started on a free
// port (--port 0, the port read from the line it prints), stopped by a
// signal and waited for.
#pragma once
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace peft::test {

inline std::string serve_model() { return shared_path("models/stories260K.gguf"); }

// manpages-ir documents [first, first + n), texts cut to `chars` characters,
// with the man section (the id's suffix: "ls.1" -> "1") as metadata.
inline std::string manpages_slice(const std::string& dir, int first, int n, const std::string& name,
                                  size_t chars = 600) {
  std::ifstream in(shared_path("data/manpages-ir/corpus.jsonl"));
  std::string line, body;
  int i = 0;
  while (std::getline(in, line)) {
    if (i++ < first) continue;
    if (i > first + n) break;
    auto j = nlohmann::json::parse(line);
    j["text"] = j["text"].get<std::string>().substr(0, chars);
    const std::string id = j["_id"];
    j["section"] = id.substr(id.rfind('.') + 1);
    body += j.dump() + "\n";
  }
  const std::string path = dir + "/" + name;
  write_file(path, body);
  return path;
}

// `peft index build` of the first `n` manpages into dir/idx; returns it.
inline std::string build_manpages_index(const std::string& dir, int n) {
  const std::string corpus = manpages_slice(dir, 0, n, "corpus.jsonl"), idx = dir + "/idx";
  CliResult r = run_cli({"index", "build", "--model", serve_model(), "--corpus", corpus, "--out", idx,
                         "--max-tokens", "64", "-q"});
  EXPECT_EQ(r.rc, 0) << r.err;
  return idx;
}

class ServeProcess {
 public:
  // Starts `peft serve --index IDX --port 0 EXTRA...` and waits (up to a
  // minute; a guard against a hang, not a timing check) for its "serving
  // ... at http://127.0.0.1:PORT/" line.
  explicit ServeProcess(const std::string& index, const std::vector<std::string>& extra = {}) {
    dir_ = temp_dir("serve-proc");
    out_ = dir_ + "/out";
    err_ = dir_ + "/err";
    const char* bin = std::getenv("PEFT_BIN");
    const std::string exe = bin && *bin ? bin : std::string(PEFT_BINARY_DIR) + "/bin/peft";
    std::vector<std::string> args = {exe, "serve", "--index", index, "--port", "0", "--workers", "8"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      if (!std::freopen(out_.c_str(), "w", stdout) || !std::freopen(err_.c_str(), "w", stderr)) _exit(126);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(exe.c_str(), argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = read_file(out_);
      const size_t at = out.find("http://127.0.0.1:");
      if (at != std::string::npos && out.find('/', at + 17) != std::string::npos) {
        port_ = std::atoi(out.c_str() + at + 17);
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        rc_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        ADD_FAILURE() << "peft serve exited (" << rc_ << ") before serving: " << read_file(err_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "peft serve did not say where it serves within a minute: " << read_file(err_);
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

  // Sends `sig` and waits (up to a minute) for the exit; returns the exit
  // code, 128 + signal when killed, -1 when it did not exit.
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return rc_;
    kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        rc_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return rc_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  std::string dir_, out_, err_;
  pid_t pid_ = -1;
  int port_ = 0;
  int rc_ = -1;
};

}  // namespace peft::test
