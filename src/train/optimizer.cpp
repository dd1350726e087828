#include "train/optimizer.h"

#include <cmath>

#include "core/error.h"

namespace peft {

AdamW::AdamW(const std::vector<ParamRef<float>>& params, const OptimizerConfig& cfg) : cfg_(cfg) {
  const bool plus = cfg.lora_plus_ratio != 1.0;
  // Groups as PEFT's LoRA+ builds them; without LoRA+ only the lr scale of
  // 1-D tensors differs (none): they keep weight decay 0, matching common
  // practice of not decaying norms and biases.
  groups_.push_back({"matrices", 1.0, cfg.weight_decay, 0, 0});
  groups_.push_back({plus ? "lora_B (lr x ratio)" : "lora_B", plus ? cfg.lora_plus_ratio : 1.0, cfg.weight_decay, 0, 0});
  groups_.push_back({plus ? "1-D (lr x ratio, no decay)" : "1-D (no decay)", plus ? cfg.lora_plus_ratio : 1.0, 0.0, 0, 0});
  for (const auto& p : params) {
    Slot s;
    s.p = p;
    const bool one_d = p.shape.size() == 1;
    s.group = one_d ? 2 : (p.group == "lora_B" ? 1 : 0);
    s.m.assign(p.numel, 0.0f);
    s.v.assign(p.numel, 0.0f);
    groups_[s.group].tensors++;
    groups_[s.group].numel += p.numel;
    slots_.push_back(std::move(s));
  }
}

double AdamW::step(double lr) {
  ++t_;
  double sq = 0;
  for (auto& s : slots_) {
    if (transform_) transform_(s.p, s.p.grad);
    sq += ops::sum_squares(s.p.grad, s.p.numel);
  }
  const double norm = std::sqrt(sq);
  double clip = 1.0;
  if (cfg_.max_grad_norm > 0 && norm > cfg_.max_grad_norm) clip = cfg_.max_grad_norm / (norm + 1e-6);
  for (auto& s : slots_) {
    if (clip != 1.0)
      for (int64_t i = 0; i < s.p.numel; ++i) s.p.grad[i] = static_cast<float>(s.p.grad[i] * clip);
    const ParamGroupInfo& g = groups_[s.group];
    ops::AdamWStep st;
    st.lr = lr * g.lr_scale;
    st.beta1 = cfg_.beta1;
    st.beta2 = cfg_.beta2;
    st.eps = cfg_.eps;
    st.weight_decay = g.weight_decay;
    st.step = t_;
    ops::adamw_update(s.p.data, s.p.grad, s.m.data(), s.v.data(), s.p.numel, st);
  }
  return norm;
}

double AdamW::lr_scale_of(const std::string& name) const {
  for (const auto& s : slots_)
    if (s.p.name == name) return groups_[s.group].lr_scale;
  internal_fail("train", "no parameter named " + name);
}

std::vector<std::pair<std::string, const std::vector<float>*>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, const std::vector<float>*>> r;
  for (const auto& s : slots_) {
    r.push_back({s.p.name + ".adam_m", &s.m});
    r.push_back({s.p.name + ".adam_v", &s.v});
  }
  return r;
}

void AdamW::load_state(const std::map<std::string, std::vector<float>>& state, int64_t t) {
  for (auto& s : slots_) {
    for (auto [suffix, vec] : {std::pair{".adam_m", &s.m}, std::pair{".adam_v", &s.v}}) {
      auto it = state.find(s.p.name + suffix);
      if (it == state.end()) fail("train", "checkpoint has no optimizer state for '" + s.p.name + "'");
      if (static_cast<int64_t>(it->second.size()) != s.p.numel)
        fail("train", "checkpoint optimizer state for '" + s.p.name + "' has the wrong size");
      *vec = it->second;
    }
  }
  t_ = t;
}

}  // namespace peft
