// Checkpoint housekeeping through the CLI: --save-total-limit keeps the
// newest N checkpoint folders and deletes nothing else; --save-optimizer-state
// decides which checkpoints can be resumed, and a snapshot is refused by
// --resume with one error line.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

using peft::test::read_file;
using peft::test::run_cli;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace fs = std::filesystem;

namespace {

std::vector<std::string> train_args(const std::string& out, std::vector<std::string> extra) {
  std::vector<std::string> a{"train", "--model", shared_path("models/stories260K.gguf"), "--data",
                             shared_path("data/tinyshakespeare/input.txt"), "--out", out, "--batch-size", "1",
                             "--seq-len", "16", "--eval-windows", "1", "-q"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::vector<std::string> checkpoints(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("checkpoint", 0) == 0) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(CliCheckpoints, SaveTotalLimitKeepsTheNewest) {
  const std::string out = temp_dir("limit");
  // Not ours to delete: a folder with a checkpoint-like name but no
  // trainer_state.json, and a file.
  fs::create_directories(out + "/checkpoint-100");
  write_file(out + "/checkpoint-100/notes.txt", "mine");
  write_file(out + "/checkpoint-0", "a file");
  auto r = run_cli(train_args(out, {"--steps", "6", "--save-every", "1", "--save-total-limit", "2"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(checkpoints(out),
            (std::vector<std::string>{"checkpoint-0", "checkpoint-100", "checkpoint-5", "checkpoint-6"}));
  EXPECT_EQ(read_file(out + "/checkpoint-100/notes.txt"), "mine");
  // Resuming from the older kept one, the limit counts the folders already
  // there: after steps 7 and 8 only those two remain.
  r = run_cli(train_args(out, {"--steps", "8", "--save-every", "1", "--save-total-limit", "2", "--resume",
                               out + "/checkpoint-5"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(checkpoints(out),
            (std::vector<std::string>{"checkpoint-0", "checkpoint-100", "checkpoint-7", "checkpoint-8"}));
  auto state = nlohmann::json::parse(read_file(out + "/checkpoint-8/trainer_state.json"));
  EXPECT_EQ(state["step"], 8);
  // Without a limit every checkpoint stays.
  const std::string all = temp_dir("nolimit");
  r = run_cli(train_args(all, {"--steps", "3", "--save-every", "1"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(checkpoints(all), (std::vector<std::string>{"checkpoint-1", "checkpoint-2", "checkpoint-3"}));
}

TEST(CliCheckpoints, OptimizerStateCanBeLeftOut) {
  // Default: every checkpoint, the final one too, can be resumed.
  const std::string all = temp_dir("state_all");
  auto r = run_cli(train_args(all, {"--steps", "4", "--save-every", "2"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(fs::exists(all + "/checkpoint-2/optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(all + "/checkpoint-4/optimizer.safetensors"));

  // intermediate: the final step gets no checkpoint folder (the output
  // folder holds the adapter); the others still resume.
  const std::string mid = temp_dir("state_mid");
  r = run_cli(train_args(mid, {"--steps", "4", "--save-every", "2", "--save-optimizer-state", "intermediate"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(checkpoints(mid), std::vector<std::string>{"checkpoint-2"});
  EXPECT_TRUE(fs::exists(mid + "/checkpoint-2/optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(mid + "/adapter_model.safetensors"));
  r = run_cli(train_args(mid, {"--steps", "4", "--resume", mid + "/checkpoint-2"}));
  EXPECT_EQ(r.rc, 0) << r.err;
  // The resumed run ends where the uninterrupted one did.
  EXPECT_EQ(read_file(mid + "/adapter_model.safetensors"), read_file(all + "/adapter_model.safetensors"));

  // none: checkpoints are snapshots (the adapter and the trainer state), and
  // --resume refuses them before loading anything.
  const std::string none = temp_dir("state_none");
  r = run_cli(train_args(none, {"--steps", "4", "--save-every", "2", "--save-optimizer-state", "none"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(checkpoints(none), std::vector<std::string>{"checkpoint-2"});
  EXPECT_TRUE(fs::exists(none + "/checkpoint-2/adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(none + "/checkpoint-2/optimizer.safetensors"));
  EXPECT_FALSE(fs::exists(none + "/checkpoint-2/trainable.safetensors"));
  r = run_cli(train_args(none, {"--steps", "6", "--resume", none + "/checkpoint-2"}));
  EXPECT_EQ(r.rc, 2) << r.err;
  std::string line = r.err;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos) << r.err;
  EXPECT_EQ(line.rfind("error: [train] cannot resume from '" + none + "/checkpoint-2': it was saved without the optimizer state", 0),
            0u)
      << line;
}
