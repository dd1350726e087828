// Data-parallel contrastive training: `mpirun -np N peft train --task
// embedding` against the single-process run with the same batches. The
// in-batch-negatives loss couples the rows of a batch, so each rank embeds
// its share of every batch, the embeddings are gathered on every rank, every
// rank computes the whole batch's loss and its gradient with respect to all
// embeddings, backpropagates its own rows, and the parameter gradients are
// summed (embed/embedding_task.h). Only the order of float sums differs from
// one process: after 5 steps the adapters and the loss curve agree within
// 1e-5, for mnrl, cached-mnrl (mini-batches shared out whole, uneven) and
// the pairwise CoSENT loss, with adapter dropout on (each rank draws the
// masks one process draws), on 2 and 3 ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/safetensors.h"
#include "mpi_launch.h"
#include "run_compare.h"
#include "test_util.h"

using peft::test::max_tensor_diff;
using peft::test::metrics_series;
using peft::test::read_file;
using peft::test::run_mpi;
using peft::test::run_single;
using peft::test::shared_path;
using peft::test::temp_dir;

namespace fs = std::filesystem;

namespace {

constexpr double kTol = 1e-5;

// The common command line; a flag in `extra` replaces the default's value.
// The learning rate is small enough that Adam, which turns a gradient
// component near zero into a step of about lr whatever its rounding, does
// not blow the sum-order differences of those components up past 1e-5.
std::vector<std::string> train_args(const std::string& data, const std::string& out, std::vector<std::string> extra) {
  const std::vector<std::string> d{"--batch-size", "8", "--steps", "5", "--lr", "1e-3", "--seed", "3"};
  std::vector<std::string> a{"train", "--task", "embedding", "--model", shared_path("models/stories260K.gguf"),
                             "--data", data, "--out", out, "--method", "lora", "--rank", "4", "--targets",
                             "q,k,v,o,up,down", "--pooling", "mean", "--max-length", "24", "--log-every", "1"};
  for (size_t i = 0; i < d.size(); i += 2)
    if (std::find(extra.begin(), extra.end(), d[i]) == extra.end()) a.insert(a.end(), {d[i], d[i + 1]});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// One process and `np` ranks on the same command: the adapter, the loss
// curve and the gradient norms (of the summed gradient: a share counted
// twice or missed shows there even where Adam's scale invariance hides it)
// agree; the tokens and texts counted per step are the whole batch's.
void check(const std::string& name, const std::string& data, const std::vector<std::string>& extra, int np = 2) {
  const std::string one = temp_dir(name + "-1"), many = temp_dir(name + "-" + std::to_string(np));
  auto r1 = run_single(train_args(data, one, extra));
  ASSERT_EQ(r1.rc, 0) << r1.err;
  auto rn = run_mpi(np, train_args(data, many, extra));
  ASSERT_EQ(rn.rc, 0) << rn.err;
  EXPECT_LE(max_tensor_diff(one + "/adapter_model.safetensors", many + "/adapter_model.safetensors"), kTol) << name;
  for (const char* key : {"loss", "grad_norm", "tokens", "texts"}) {
    const std::vector<double> a = metrics_series(one, key), b = metrics_series(many, key);
    ASSERT_EQ(a.size(), 5u) << key;
    ASSERT_EQ(a.size(), b.size()) << key;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], kTol) << name << ": " << key << " at step " << i + 1;
  }
  // Gradients flowed (a run that trained nothing would match trivially).
  const std::vector<double> gn = metrics_series(one, "grad_norm");
  EXPECT_GT(*std::min_element(gn.begin(), gn.end()), 0.0);
  auto s = nlohmann::json::parse(read_file(many + "/summary.json"));
  EXPECT_EQ(s["ranks"], np);
  EXPECT_TRUE(fs::exists(many + "/embedding_settings.json"));
  // Rank 0 alone prints progress.
  size_t lines = 0;
  for (size_t p = rn.err.find("step 3/5"); p != std::string::npos; p = rn.err.find("step 3/5", p + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << rn.err;
  fs::remove_all(one);
  fs::remove_all(many);
}

std::string ir() { return shared_path("data/manpages-ir"); }

}  // namespace

TEST(DistEmbedTrain, MnrlOnTwoRanksMatchesOneProcess) { check("mnrl", ir(), {"--loss", "mnrl"}); }

// Dropout on every adapted layer: each rank pads its share as the whole
// batch is padded and skips the other ranks' draws.
TEST(DistEmbedTrain, MnrlWithDropoutOnThreeRanks) { check("mnrl-drop", ir(), {"--loss", "mnrl", "--dropout", "0.1"}, 3); }

// 16 texts in mini-batches of 3 (3, 3, 3, 3, 3, 1): whole mini-batches per
// rank (3 and 3 of them on 2 ranks; 2, 2, 2 on 3), masks replayed.
TEST(DistEmbedTrain, CachedMnrlSharesOutMiniBatches) {
  check("cached", ir(), {"--loss", "cached-mnrl", "--mini-batch-size", "3", "--dropout", "0.1"});
  check("cached3", ir(), {"--loss", "cached-mnrl", "--mini-batch-size", "3"}, 3);
}

// A pairwise loss on scored pairs (STS-B), with gradient accumulation.
TEST(DistEmbedTrain, CosentOnTwoRanksMatchesOneProcess) {
  check("cosent", shared_path("data/stsb/sts-train.csv"), {"--loss", "cosent", "--batch-size", "4", "--grad-accum", "2"});
}
