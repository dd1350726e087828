// AdamW with PyTorch semantics (REFERENCE.md §6). Decoupled weight decay is
// applied as PyTorch does, before the Adam step: p ← p · (1 − lr·wd).
//   m ← β1 m + (1−β1) g;   v ← β2 v + (1−β2) g²
//   m̂ = m / (1−β1ᵗ);  v̂ = v / (1−β2ᵗ);   p ← p − lr · m̂ / (sqrt(v̂) + eps)
#pragma once
#include <cstdint>

namespace peft::ops {

struct AdamWStep {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  int64_t step = 1;  // t, starting at 1
};

// p, g, m, v: [n] float. g is read only.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s);
// Reference twin in double precision on a copy, for tests.
void adamw_update_ref(double* p, const double* g, double* m, double* v, int64_t n, const AdamWStep& s);

// Sum of squares of g (double accumulation), for global-norm clipping.
double sum_squares(const float* g, int64_t n);

}  // namespace peft::ops
