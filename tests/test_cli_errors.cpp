// Every error a user can cause on the command line is one line
// "error: [area] ..." on stderr and exit code 2, and the ones that need no
// model are found before the model loads. The tests that show "before the
// load" give an empty (invalid) model file: had the model loaded first, the
// error would be the model's ("[gguf] ...") instead of the one expected.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.h"

using peft::test::read_file;
using peft::test::run_cli;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace fs = std::filesystem;

namespace {

std::string model() { return shared_path("models/stories260K.gguf"); }
std::string text() { return shared_path("data/tinyshakespeare/input.txt"); }

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// stderr must be exactly one line, "error: [area] ..." holding `needle`.
void expect_one_error(const peft::test::CliResult& r, const std::string& area, const std::string& needle) {
  EXPECT_EQ(r.rc, 2) << "stderr: " << r.err;
  const std::string line = trimmed(r.err);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "more than one line on stderr:\n" << r.err;
  EXPECT_EQ(line.rfind("error: [" + area + "] ", 0), 0u) << line;
  EXPECT_NE(line.find(needle), std::string::npos) << "expected '" << needle << "' in: " << line;
}

void expect_error(const std::vector<std::string>& args, const std::string& area, const std::string& needle) {
  SCOPED_TRACE(testing::PrintToString(args));
  expect_one_error(run_cli(args), area, needle);
}

// Runs peft with the size of any file it writes capped at `max_file_bytes`
// (RLIMIT_FSIZE: a write past it fails with EFBIG, as one on a full disk
// fails with ENOSPC; SIGXFSZ is ignored so the write returns the error), and
// stdout sent to `stdout_path`.
peft::test::CliResult run_limited(const std::vector<std::string>& args, rlim_t max_file_bytes,
                                  const std::string& stdout_path = "") {
  const char* bin = std::getenv("PEFT_BIN");
  const std::string exe = bin && *bin ? bin : std::string(PEFT_BINARY_DIR) + "/bin/peft";
  const std::string dir = temp_dir("limited");
  const std::string out_path = stdout_path.empty() ? dir + "/out" : stdout_path, err_path = dir + "/err";
  pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr)) _exit(126);
    signal(SIGXFSZ, SIG_IGN);
    rlimit lim{max_file_bytes, max_file_bytes};
    if (max_file_bytes != RLIM_INFINITY && setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(126);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  peft::test::CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = read_file(err_path);
  if (stdout_path.empty()) r.out = read_file(out_path);
  fs::remove_all(dir);
  return r;
}

// Names in `dir`, to show that a failed write left nothing behind.
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A short LoRA run's adapter folder, for the commands that take one.
std::string trained_adapter() {
  static std::string dir;
  if (!dir.empty()) return dir;
  dir = temp_dir("adapter");
  auto r = run_cli({"train", "--model", model(), "--data", text(), "--steps", "1", "--batch-size", "1", "--seq-len",
                    "16", "--eval-windows", "1", "--out", dir, "-q"});
  EXPECT_EQ(r.rc, 0) << r.err;
  return dir;
}

struct Scratch {
  std::string dir = temp_dir("clierr");
  std::string empty_model = dir + "/empty.gguf";  // exists, but is no model
  std::string a_file = dir + "/a_file";           // a file where a folder would go
  Scratch() {
    write_file(empty_model, "");
    write_file(a_file, "x");
  }
};

std::vector<std::string> train_args(const std::string& model_path, const std::string& out,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> a{"train", "--model", model_path, "--data", text(), "--out", out};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace

TEST(CliErrors, UnwritableOutIsRefusedBeforeTheModelLoads) {
  Scratch s;
  // A folder output under a file; under /proc, where nothing can be made.
  expect_error(train_args(s.empty_model, s.a_file + "/out"), "train", "cannot write '" + s.a_file + "/out'");
  expect_error(train_args(s.empty_model, "/proc/peft-no-such-out"), "train", "cannot write '/proc/peft-no-such-out'");
  expect_error(train_args(s.empty_model, s.a_file), "train", "it is a file, not a folder");
  // File outputs: a missing folder, a folder in place of the file, /proc.
  const std::string adapter = trained_adapter();
  expect_error({"export", "--model", s.empty_model, "--adapter", adapter, "--out", s.dir + "/missing/x.gguf"}, "export",
               "folder '" + s.dir + "/missing' does not exist");
  expect_error({"export", "--model", s.empty_model, "--adapter", adapter, "--out", s.dir}, "export",
               "it is a folder, not a file");
  expect_error({"export", "--model", s.empty_model, "--adapter", adapter, "--out", "/proc/x.gguf"}, "export",
               "cannot write '/proc/x.gguf'");
  expect_error({"merge", "--model", s.empty_model, "--adapter", adapter, "--out", s.a_file + "/m.gguf"}, "merge",
               "cannot write");
  expect_error({"merge", "--model", s.empty_model, "--adapter", adapter, "--out", s.a_file}, "merge",
               "it is a file, not a folder");
  expect_error({"convert", "--model", s.empty_model, "--out", "/proc/peft-hf-dir"}, "convert", "cannot write");
  // A refused run leaves no folder behind.
  EXPECT_EQ(listing(s.dir), (std::vector<std::string>{"a_file", "empty.gguf"}));
}

TEST(CliErrors, BadTrainingFlagsAreRefusedBeforeTheModelLoads) {
  Scratch s;
  const std::string out = s.dir + "/out";
  auto train = [&](std::vector<std::string> extra) { return train_args(s.empty_model, out, std::move(extra)); };
  expect_error(train({"--schedule", "cosinus"}), "train", "unknown schedule 'cosinus'");
  expect_error(train({"--sampling", "shuffled"}), "train", "unknown sampling 'shuffled'");
  expect_error(train({"--method", "dora"}), "train", "unknown method 'dora'");
  expect_error(train({"--save-optimizer-state", "some"}), "train", "unknown optimizer-state choice 'some'");
  expect_error(train({"--steps", "-3"}), "train", "--steps: must be > 0, got -3");
  expect_error(train({"--steps", "0"}), "train", "--steps: must be > 0, got 0");
  expect_error(train({"--epochs", "-1"}), "train", "--epochs: must be > 0");
  expect_error(train({"--steps", "many"}), "train", "--steps");
  expect_error(train({"--lr", "0"}), "train", "--lr: must be > 0, got 0");
  expect_error(train({"--lr", "-1e-3"}), "train", "--lr: must be > 0");
  expect_error(train({"--batch-size", "0"}), "train", "--batch-size: must be > 0");
  expect_error(train({"--save-total-limit", "-1"}), "train", "--save-total-limit: must be >= 0");
  expect_error(train({"--weight-decay", "-0.1"}), "train", "--weight-decay: must be >= 0");
  expect_error(train({"--rank", "0"}), "adapters", "rank must be positive, got 0");
  expect_error(train({"--rank", "-4"}), "adapters", "rank must be positive");
  expect_error(train({"--init", "xavier"}), "adapters", "unknown init 'xavier'");
  expect_error(train({"--targets", "q,attn"}), "adapters", "unknown target module 'attn'");
  expect_error(train({"--method", "delta-lora", "--dropout", "0.1"}), "adapters", "dropout must be 0");
  // Conflicting flags.
  expect_error(train({"--steps", "5", "--epochs", "1"}), "train", "--steps and --epochs conflict");
  expect_error(train({"--targets", "q", "--target-regex", "blk\\.0\\..*"}), "train",
               "--targets and --target-regex conflict");
  expect_error(train({"--eval-data", text(), "--eval-split", "0.2"}), "train", "--eval-data and --eval-split conflict");
  expect_error(train({"--text", "x"}), "train", "--text");
  // Missing files.
  expect_error(train_args(s.dir + "/none.gguf", out), "train", "--model: Path does not exist");
  // (a path: --task embedding also takes a BEIR folder)
  expect_error({"train", "--model", model(), "--data", s.dir + "/none.txt", "--out", out}, "train",
               "--data: Path does not exist");
  expect_error(train({"--eval-data", s.dir + "/none.txt"}), "train", "--eval-data: File does not exist");
  expect_error(train({"--resume", s.dir + "/none"}), "train", "--resume: Directory does not exist");
  expect_error(train({"--resume", s.dir}), "train", "is not a checkpoint (no trainer_state.json)");
  expect_error({"train", "--model", model(), "--data", text()}, "train", "--out is required");
  EXPECT_EQ(listing(s.dir), (std::vector<std::string>{"a_file", "empty.gguf"}));
}

TEST(CliErrors, OtherCommandsRefuseBadInputs) {
  Scratch s;
  expect_error({"frobnicate"}, "cli", "unknown command 'frobnicate'");
  expect_error({"info"}, "info", "give the model");
  expect_error({"info", "--model", s.dir + "/none.gguf"}, "info", "Path does not exist");
  expect_error({"info", s.dir + "/none.gguf"}, "info", "Path does not exist");
  expect_error({"info", "--model", model(), model()}, "info", "excludes");
  expect_error({"generate", "--model", model(), "--top-k", "-1"}, "generate", "--top-k: must be >= 0, got -1");
  expect_error({"generate", "--model", model(), "--max-tokens", "many"}, "generate", "--max-tokens");
  expect_error({"generate", "--model", model(), "--kv-dtype", "nonsense"}, "generate", "unknown --kv-dtype 'nonsense'");
  expect_error({"generate", "--model", s.empty_model, "--adapter", s.dir + "/none"}, "adapters", "is not a folder");
  expect_error({"generate", "--model", s.empty_model, "--adapter", s.dir}, "adapters", "has no adapter_config.json");
  expect_error({"generate", "--model", s.empty_model, "--adapter", s.dir + ":x1"}, "adapters", "is not a folder");
  expect_error({"export", "--model", s.empty_model, "--adapter", s.dir, "--out", s.dir + "/x.gguf"}, "adapters",
               "has no adapter_config.json");
  expect_error({"perplexity", "--model", model(), "--data", s.dir + "/none.txt"}, "perplexity",
               "--data: File does not exist");
  expect_error({"tokenize", "--tokenizer", s.dir + "/none.gguf", "--text", "a"}, "tokenize", "Path does not exist");
  expect_error({"tokenize", "--tokenizer", model(), "--text", "a", "--file", text()}, "tokenize", "excludes");
  expect_error({"detokenize", "--tokenizer", model(), "--ids", "1 x"}, "detokenize", "'x' is not a token id");
  expect_error({"chat-template", "--template", s.dir + "/none.jinja"}, "chat-template", "Path does not exist");
}

// Flags the chosen method does not read are named in a warning line; the
// run itself goes on.
TEST(CliErrors, FlagsTheMethodIgnoresAreWarnedAbout) {
  const std::string out = temp_dir("ignored");
  auto r = run_cli(train_args(model(), out,
                              {"--method", "vera", "--alpha", "4", "--rslora", "--lora-plus-ratio", "4", "--steps", "1",
                               "--batch-size", "1", "--seq-len", "16", "--eval-windows", "1", "-q"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --alpha is ignored by --method vera"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: --rslora is ignored by --method vera"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: --lora-plus-ratio is ignored by --method vera"), std::string::npos) << r.err;
  r = run_cli(train_args(model(), temp_dir("ignored_full"),
                         {"--method", "full", "--rank", "4", "--lora-fa-projection", "--steps", "1", "--batch-size",
                          "1", "--seq-len", "16", "--eval-windows", "1", "-q"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --rank is ignored by --method full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: --lora-fa-projection is ignored by --method full"), std::string::npos) << r.err;
  // A flag the method does read draws no warning.
  r = run_cli(train_args(model(), temp_dir("used"),
                         {"--method", "lora-plus", "--alpha", "16", "--lora-plus-ratio", "4", "--steps", "1",
                          "--batch-size", "1", "--seq-len", "16", "--eval-windows", "1", "-q"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err.find("warning:"), std::string::npos) << r.err;
}

// A write that fails part way (a full disk; here a file-size limit, which
// fails the same write calls) is one error line, and leaves neither the
// output nor its temporary file behind.
TEST(CliErrors, AFullDiskLeavesNoPartialFile) {
  const std::string adapter = trained_adapter();
  const std::string dir = temp_dir("full");
  auto r = run_limited({"export", "--model", model(), "--adapter", adapter, "--out", dir + "/x.gguf"}, 4096);
  expect_one_error(r, "gguf", "cannot write '" + dir + "/x.gguf'");
  r = run_limited({"merge", "--model", model(), "--adapter", adapter, "--out", dir + "/m.gguf"}, 4096);
  expect_one_error(r, "gguf", "cannot write '" + dir + "/m.gguf'");
  r = run_limited({"merge", "--model", model(), "--adapter", adapter, "--out", dir + "/hf"}, 4096);
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(trimmed(r.err).find('\n'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("error: [", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/hf/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/hf/model.safetensors.tmp"));
  fs::remove_all(dir + "/hf");
  // Training: the checkpoint at the end cannot be written; no half
  // checkpoint folder (nor its .tmp) is left.
  const std::string out = dir + "/train";
  r = run_limited(train_args(model(), out,
                             {"--method", "full", "--steps", "1", "--batch-size", "1", "--seq-len", "16",
                              "--eval-windows", "1", "-q"}),
                  64 * 1024);
  expect_one_error(r, "safetensors", "cannot write");
  for (const std::string& n : listing(out)) EXPECT_EQ(n.find("checkpoint"), std::string::npos) << n;
  fs::remove_all(out);
  EXPECT_EQ(listing(dir), std::vector<std::string>{});
  // Results on a full stdout.
  r = run_limited({"tokenize", "--tokenizer", model(), "--text", "Hello there"}, RLIM_INFINITY, "/dev/full");
  expect_one_error(r, "io", "cannot write the output");
}
