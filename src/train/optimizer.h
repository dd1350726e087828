// AdamW over parameter groups (REFERENCE.md §5-6).
//
// Each trainable tensor belongs to a group with its own learning-rate
// multiplier and weight decay. LoRA+ is expressed here, not in an adapter:
// following PEFT's create_loraplus_optimizer, lora_B tensors and every 1-D
// trainable tensor (biases, norms, VeRA's λ) learn at lr · ratio; other
// tensors at lr; 1-D tensors get no weight decay.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/adapter_slot.h"
#include "ops/adamw.h"

namespace peft {

struct OptimizerConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  double max_grad_norm = 0.0;    // 0 = no clipping
  double lora_plus_ratio = 1.0;  // > 1 enables LoRA+ groups
};

struct ParamGroupInfo {
  std::string name;  // "default", "lora_B / 1-D (LoRA+)", ...
  double lr_scale = 1.0;
  double weight_decay = 0.0;
  int64_t tensors = 0, numel = 0;
};

class AdamW {
 public:
  AdamW(const std::vector<ParamRef<float>>& params, const OptimizerConfig& cfg);

  // Clips gradients to max_grad_norm (global L2 norm) and applies one step at
  // base learning rate lr. Returns the gradient norm before clipping.
  double step(double lr);
  int64_t steps_done() const { return t_; }
  const std::vector<ParamGroupInfo>& groups() const { return groups_; }
  // The group learning rate multiplier of a parameter, by name (tests, logs).
  double lr_scale_of(const std::string& name) const;
  // Optimizer state for checkpoints: m and v of every tensor, in order.
  std::vector<std::pair<std::string, const std::vector<float>*>> state_tensors() const;
  void load_state(const std::map<std::string, std::vector<float>>& state, int64_t t);
  // Optional per-parameter gradient transform applied before the update
  // (LoRA-FA's projected gradient).
  using GradTransform = std::function<void(const ParamRef<float>&, float* grad)>;
  void set_grad_transform(GradTransform f) { transform_ = std::move(f); }

 private:
  struct Slot {
    ParamRef<float> p;
    int group = 0;
    std::vector<float> m, v;
  };
  std::vector<Slot> slots_;
  std::vector<ParamGroupInfo> groups_;
  OptimizerConfig cfg_;
  int64_t t_ = 0;
  GradTransform transform_;
};

}  // namespace peft
