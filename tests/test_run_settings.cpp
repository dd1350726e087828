// A run's settings as the library holds them (train/run_settings.h): the
// method defaults, epochs turned into steps, and the resume check, through
// the real path: a checkpoint written by the Trainer with run_record() and a
// resume whose settings differ, refused by the setting's name, from the
// library and from `peft train --resume`.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "core/error.h"
#include "data/text_windows.h"
#include "io/atomic_file.h"
#include "test_util.h"
#include "train/method.h"
#include "train/pretrained.h"
#include "train/run_settings.h"
#include "train/trainer.h"

namespace peft {
namespace {

TEST(RunSettings, StepsForEpochsRoundsUp) {
  EXPECT_EQ(steps_for_epochs(100, 2, 8, 2), 13);  // 200 rows / 16 per step
  EXPECT_EQ(steps_for_epochs(96, 1, 8, 2), 6);
  EXPECT_EQ(steps_for_epochs(1, 1, 8, 1), 1);
  EXPECT_EQ(steps_for_epochs(0, 3, 8, 1), 1);  // never zero steps
  EXPECT_THROW(steps_for_epochs(10, 0, 8, 1), InputError);
  EXPECT_THROW(steps_for_epochs(10, 1, 0, 1), InputError);
}

TEST(RunSettings, PiecesForTheLibrary) {
  RunSettings s;
  s.method = "lora-plus";
  s.rank = 4;
  s.targets = "q, v";
  s.epochs = 2;
  s.batch_size = 4;
  s.lora_plus_ratio = 8;
  s.schedule = "cosine";
  resolve_run_defaults(s, true);
  const AdapterConfig ac = adapter_config_of(s);
  EXPECT_EQ(ac.method, "lora-plus");
  EXPECT_EQ(ac.alpha, 4) << "alpha 0 means the rank";
  EXPECT_EQ(ac.targets, (std::vector<std::string>{"q", "v"}));
  const TrainOptions to = train_options_of(s, 10);
  EXPECT_EQ(to.steps, 5);  // 2 · 10 rows / 4
  EXPECT_EQ(to.opt.lora_plus_ratio, 8);
  EXPECT_EQ(to.schedule, Schedule::Cosine);
  EXPECT_EQ(data_options_of(s).sampling, Sampling::Epochs);
  s.method = "lora";
  EXPECT_EQ(train_options_of(s, 10).opt.lora_plus_ratio, 1) << "only LoRA+ reads the ratio";
  s.schedule = "sawtooth";
  EXPECT_THROW(train_options_of(s, 10), InputError);
}

TEST(RunSettings, DefaultsComeFromTheMethod) {
  RunSettings s;
  s.method = "vera";
  resolve_run_defaults(s, false);
  EXPECT_EQ(s.lr, 1e-2);
  EXPECT_EQ(s.rank, 256);
  EXPECT_EQ(s.steps, 100);
  EXPECT_EQ(s.sampling, "random");

  RunSettings g;
  g.method = "vera";
  g.rank = 16;
  g.lr = 5e-3;
  g.epochs = 2;
  resolve_run_defaults(g, true);
  EXPECT_EQ(g.rank, 16) << "a given rank stays";
  EXPECT_EQ(g.lr, 5e-3) << "a given lr stays";
  EXPECT_EQ(g.steps, 0) << "epochs decide the steps later";
  EXPECT_EQ(g.sampling, "epochs");

  RunSettings f;
  f.method = "full";
  resolve_run_defaults(f, false);
  EXPECT_EQ(f.lr, 1e-4);

  RunSettings a;
  a.method = "lora_fa";
  resolve_run_defaults(a, false);
  EXPECT_EQ(a.method, "lora-fa") << "an alias is recorded as the method's name";
  EXPECT_EQ(a.lr, 2e-3);
  EXPECT_EQ(a.rank, 8);

  RunSettings bad;
  bad.method = "dora";
  EXPECT_THROW(resolve_run_defaults(bad, false), InputError);
  RunSettings bs;
  bs.sampling = "shuffled";
  EXPECT_THROW(resolve_run_defaults(bs, false), InputError);
}

// A one-step LoRA run on stories260K that leaves out/checkpoint-1, with
// `s`'s record; then a fresh trainer with `t`'s record loads it.
struct ResumeFixture {
  std::string model = test::shared_path("models/stories260K.gguf");
  std::string text = test::shared_path("data/tinyshakespeare/input.txt");
  std::vector<int32_t> stream;

  ResumeFixture() {
    Pretrained p = load_pretrained(model);
    std::string t = read_file_bytes(text).substr(0, 4000);
    stream = p.tokenizer->encode(t, true);
  }
  RunSettings base() const {
    RunSettings s;
    s.model = model;
    s.data = text;
    s.method = "lora";
    s.targets = "q,v";
    s.steps = 1;
    s.batch_size = 1;
    s.seq_len = 16;
    resolve_run_defaults(s, false);
    return s;
  }
  // Runs s to the end (no `resume`) or loads `resume` into a fresh run of s.
  void run(const RunSettings& s, const std::string& out, const std::string& resume) const {
    Pretrained p = load_pretrained(model);
    setup_method(*p.model, s.method, adapter_config_of(s), true);
    TextWindows tr(stream, s.seq_len, Sampling::Random, s.seed);
    TrainOptions to = train_options_of(s, tr.rows_per_epoch());
    to.out_dir = out;
    to.progress = false;
    Trainer t(*p.model, tr, nullptr, to, run_record(s));
    if (resume.empty()) t.run();
    else t.load_checkpoint(resume);
  }
};

void expect_refused(const ResumeFixture& f, const RunSettings& s, const std::string& ckpt, const std::string& key) {
  try {
    f.run(s, "", ckpt);
    FAIL() << "a changed '" << key << "' was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + key + "' was "), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("[train] cannot resume from '" + ckpt + "'", 0), 0u) << e.what();
  }
}

TEST(RunSettings, ResumeRefusesAChangedSettingByName) {
  ResumeFixture f;
  const std::string dir = test::temp_dir("run_settings_resume");
  const RunSettings s = f.base();
  f.run(s, dir, "");
  const std::string ckpt = dir + "/checkpoint-1";
  f.run(s, "", ckpt);  // the same settings resume

  // Settings that change the result are refused, each by its own name.
  const std::vector<std::pair<std::string, std::function<void(RunSettings&)>>> changes = {
      {"lr", [](RunSettings& r) { r.lr *= 2; }},
      {"seed", [](RunSettings& r) { r.seed = 5; }},
      {"rank", [](RunSettings& r) { r.rank = 4; }},
      {"alpha", [](RunSettings& r) { r.alpha = 3; }},
      {"targets", [](RunSettings& r) { r.targets = "q,k,v"; }},
      {"method", [](RunSettings& r) { r.method = "lora-plus"; }},
      {"lora_plus_ratio", [](RunSettings& r) { r.lora_plus_ratio = 4; }},
      {"dropout", [](RunSettings& r) { r.dropout = 0.1; }},
      {"batch_size", [](RunSettings& r) { r.batch_size = 2; }},
      {"seq_len", [](RunSettings& r) { r.seq_len = 8; }},
      {"schedule", [](RunSettings& r) { r.schedule = "cosine"; }},
      {"data", [](RunSettings& r) { r.data += ".other"; }},
  };
  for (const auto& [key, change] : changes) {
    RunSettings r = s;
    change(r);
    expect_refused(f, r, ckpt, key);
  }

  // How long the run goes and how often it reports may change.
  RunSettings longer = s;
  longer.steps = 3;
  longer.save_every = 1;
  longer.eval_every = 2;
  longer.log_every = 1;
  EXPECT_NO_THROW(f.run(longer, "", ckpt));
}

// Every key of the record except the free ones is checked: changing it in
// the saved checkpoint makes the same run refuse it.
TEST(RunSettings, EveryRecordedSettingIsChecked) {
  ResumeFixture f;
  const std::string dir = test::temp_dir("run_settings_keys");
  const RunSettings s = f.base();
  f.run(s, dir, "");
  const std::string ckpt = dir + "/checkpoint-1", state = ckpt + "/trainer_state.json";
  const std::string original = read_file_bytes(state);
  const nlohmann::json record = run_record(s);
  const auto& free = settings_free_on_resume();
  int checked = 0;
  for (auto& [key, value] : record.items()) {
    nlohmann::json j = nlohmann::json::parse(original);
    nlohmann::json& v = j["run_config"][key];
    if (v.is_string()) v = v.get<std::string>() + "x";
    else if (v.is_boolean()) v = !v.get<bool>();
    else v = v.get<double>() + 1;
    write_file_atomic(state, j.dump(2));
    if (std::find(free.begin(), free.end(), key) != free.end()) {
      EXPECT_NO_THROW(f.run(s, "", ckpt)) << key;
    } else {
      expect_refused(f, s, ckpt, key);
      ++checked;
    }
  }
  write_file_atomic(state, original);
  EXPECT_EQ(checked + 5, static_cast<int>(record.size()))
      << "steps, save_every, eval_every, log_every, reduce_blocks are free";
}

TEST(RunSettings, CliResumeWithAChangedSettingIsOneError) {
  const std::string dir = test::temp_dir("run_settings_cli");
  const std::string model = test::shared_path("models/stories260K.gguf");
  test::write_file(dir + "/data.txt",
                   read_file_bytes(test::shared_path("data/tinyshakespeare/input.txt")).substr(0, 4000));
  std::vector<std::string> common{"train", "--model", model, "--data", dir + "/data.txt", "--method", "lora",
                                  "--steps", "2", "--batch-size", "1", "--seq-len", "16", "--threads", "1",
                                  "--eval-split", "0", "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return test::run_cli(a);
  };
  auto r = with({"--save-every", "1", "--out", dir + "/a"});
  ASSERT_EQ(r.rc, 0) << r.err;
  // The same settings resume; a changed rank or method alias is refused by name.
  r = with({"--resume", dir + "/a/checkpoint-1", "--out", dir + "/b"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const auto& [flags, key] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--rank", "4"}, "rank"}, {{"--lr", "0.01"}, "lr"}, {{"--targets", "q,k"}, "targets"}}) {
    std::vector<std::string> extra = flags;
    extra.insert(extra.end(), {"--resume", dir + "/a/checkpoint-1", "--out", dir + "/c"});
    r = with(extra);
    EXPECT_EQ(r.rc, 2) << key << ": " << r.err;
    EXPECT_EQ(r.err.rfind("error: [train] cannot resume from '" + dir + "/a/checkpoint-1': '" + key + "' was ", 0), 0u)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace peft
