// Training on a frozen base held as bf16 or Q8_0 (model/base_dtype.h) on the
// methods protocol of test_methods_e2e: stories260K, LoRA on all linear
// layers, 25 steps on tinyshakespeare, held-out NLL over 8 windows of 128.
// The reference is the same run on the f32 base: the held-out NLL must land
// within 0.02 of it. Also: full fine-tuning of a stored base trains f32
// masters, and merging into a quantized base writes the asked types.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/threads.h"
#include "data/text_windows.h"
#include "io/atomic_file.h"
#include "io/gguf.h"
#include "methods_protocol.h"
#include "test_util.h"
#include "train/apply_adapter.h"
#include "train/method.h"
#include "train/model_io.h"
#include "train/output.h"
#include "train/pretrained.h"
#include "train/trainer.h"
#include "train/training_data.h"

using namespace peft;
namespace fs = std::filesystem;

namespace {

std::string stories() { return test::shared_path("models/stories260K.gguf"); }


std::unique_ptr<MethodSetup> train(Pretrained& p, const std::string& method, double lr, const std::string& out) {
  AdapterConfig ac;
  ac.rank = 8;
  ac.alpha = 16;
  ac.targets = {"all-linear"};
  ac.seed = 3;
  auto s = setup_method(*p.model, method, ac, true);
  TextWindows tr(test::methods_corpus().train, 128, Sampling::Random, 5);
  TrainOptions to;
  to.steps = 25;
  to.batch_size = 4;
  to.lr = lr;
  to.progress = false;
  Trainer t(*p.model, tr, nullptr, to, {});
  t.run();
  save_training_output(p, *s, out);
  return s;
}

// stories260K re-written with its matrices as Q8_0 (ffn_down, 172 columns,
// cannot hold whole 32-value blocks and stays F32).
std::string q8_model(const std::string& dir) {
  const std::string path = dir + "/stories260K-q8_0.gguf";
  Pretrained p = load_pretrained(stories(), BaseDType::F32);
  save_pretrained(p, path, DType::Q8_0);
  return path;
}

int64_t count_stored(LlamaModel<float>& m, DType t) {
  int64_t n = 0;
  for (Param<float>* p : m.base_params()) n += p->is_stored() && p->stored.dtype() == t;
  return n;
}

double f32_lora_nll() {
  static double v = [] {
    const std::string dir = test::temp_dir("stored-f32");
    Pretrained p = load_pretrained(stories(), BaseDType::F32);
    train(p, "lora", 2e-3, dir);
    const double nll = test::methods_heldout_nll(*p.model);
    fs::remove_all(dir);
    return nll;
  }();
  return v;
}

}  // namespace

TEST(StoredBase, Bf16BaseLoraMatchesTheF32Run) {
  const std::string dir = test::temp_dir("stored-bf16");
  Pretrained p = load_pretrained(stories(), BaseDType::BF16);
  // Every linear weight, the embedding and the head (when not tied) are bf16.
  const int64_t matrices = 7 * p.model->cfg.n_layers + 1 + (p.model->output.empty() ? 0 : 1);
  EXPECT_EQ(count_stored(*p.model, DType::BF16), matrices);
  const double before = test::methods_heldout_nll(*p.model);
  train(p, "lora", 2e-3, dir);
  const double after = test::methods_heldout_nll(*p.model), ref = f32_lora_nll();
  std::printf("[ bf16 base ] held-out NLL %.4f -> %.4f, f32 base %.4f\n", before, after, ref);
  EXPECT_LT(after, before - 0.1);
  EXPECT_NEAR(after, ref, 0.02);
  EXPECT_EQ(count_stored(*p.model, DType::BF16), matrices) << "training widened the base";
  fs::remove_all(dir);
}

TEST(StoredBase, Q8BaseLoraMatchesTheF32RunAndMergesBackToQ8) {
  const std::string dir = test::temp_dir("stored-q8");
  const std::string q8 = q8_model(dir);
  Pretrained p = load_pretrained(q8, BaseDType::Keep);
  EXPECT_EQ(count_stored(*p.model, DType::Q8_0), 6 * p.model->cfg.n_layers + 1 + (p.model->output.empty() ? 0 : 1));
  const double before = test::methods_heldout_nll(*p.model);
  train(p, "lora", 2e-3, dir + "/run");
  const double after = test::methods_heldout_nll(*p.model), ref = f32_lora_nll();
  std::printf("[ q8_0 base ] held-out NLL %.4f -> %.4f, f32 base %.4f\n", before, after, ref);
  EXPECT_LT(after, before - 0.1);
  EXPECT_NEAR(after, ref, 0.02);

  // Merged into the Q8_0 base: re-quantized (keep) or bf16, by the caller's choice.
  for (std::optional<DType> out : {std::optional<DType>(), std::optional<DType>(DType::BF16)}) {
    Pretrained m = load_pretrained(q8, BaseDType::Keep);
    merge_adapter(m, AdapterSpec{dir + "/run", 1.0}, out);
    const std::string path = dir + "/merged.gguf";
    save_pretrained(m, path, out);
    auto f = GgufFile::open(path);
    const DType want = out.value_or(DType::Q8_0);
    EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight")->dtype, want);
    EXPECT_EQ(f->find_tensor("blk.0.ffn_down.weight")->dtype, out ? want : DType::F32);
    EXPECT_EQ(f->find_tensor("blk.0.attn_norm.weight")->dtype, DType::F32);
    Pretrained re = load_pretrained(path, BaseDType::Keep);
    const double merged = test::methods_heldout_nll(*re.model);
    std::printf("[ q8_0 base ] merged as %s: held-out NLL %.4f (adapter %.4f)\n", dtype_name(want), merged, after);
    EXPECT_NEAR(merged, after, 0.01);
  }
  fs::remove_all(dir);
}

TEST(StoredBase, FullFineTuningOfABf16BaseTrainsF32Masters) {
  const std::string dir = test::temp_dir("stored-full");
  Pretrained p = load_pretrained(stories(), BaseDType::BF16);
  const double before = test::methods_heldout_nll(*p.model);
  train(p, "full", 1e-3, dir);
  EXPECT_EQ(count_stored(*p.model, DType::BF16), 0);
  for (Param<float>* q : p.model->base_params()) ASSERT_NE(q->data, nullptr) << q->name;
  const double after = test::methods_heldout_nll(*p.model);
  EXPECT_LT(after, before - 0.1);
  fs::remove_all(dir);
}

// Golden-style check: with an f32 base nothing is stored and the numbers are
// the dense model's, bit for bit.
TEST(StoredBase, F32PolicyKeepsEveryTensorDense) {
  Pretrained a = load_pretrained(stories(), BaseDType::F32);
  EXPECT_EQ(count_stored(*a.model, DType::BF16) + count_stored(*a.model, DType::F32), 0);
  Pretrained b = load_pretrained(stories(), BaseDType::Keep);  // an f32 file: keep is f32
  EXPECT_EQ(test::methods_heldout_nll(*a.model), test::methods_heldout_nll(*b.model));
}
