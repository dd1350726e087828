// Rotary position embedding, applied in place to q or k laid out token-major
// as [tokens, heads, head_dim].
//
// For pair index i in [0, rot_dim/2) at position p the angle is
// p · inv_freq[i], with inv_freq[i] = theta^(−2i/rot_dim) (optionally rescaled
// by RopeScaling). The two rotated coordinates are
//   Interleaved (GGUF llama, llama.cpp "normal"): (x[2i], x[2i+1])
//   Half        (Hugging Face Llama "neox"):      (x[i],  x[i + rot_dim/2])
//   (a, b) -> (a cos − b sin, a sin + b cos)
// Backward is the inverse rotation (angle −θ) of the incoming gradient.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft::ops {

enum class RopeStyle { Interleaved, Half };

// rope_scaling from config.json: "linear" divides positions by factor;
// "llama3" rescales long wavelengths (low_freq_factor, high_freq_factor,
// original_max_position_embeddings). "factors" divides each pair's
// frequency by its own factor: GGUF's rope_freqs.weight tensor, which is how
// llama.cpp stores llama3 scaling.
struct RopeScaling {
  std::string type;  // "" (none), "linear", "llama3", "factors"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position = 8192;
  std::vector<double> freq_factors;  // "factors": one per rotated pair
};

struct RopeSpec {
  int64_t head_dim = 0;
  int64_t rot_dim = 0;  // dimensions rotated (== head_dim for Llama)
  double theta = 10000.0;
  RopeStyle style = RopeStyle::Interleaved;
  RopeScaling scaling;
  // Per-pair inverse frequencies [rot_dim/2], scaling applied.
  std::vector<double> inv_freq() const;
};

// x: [tokens, heads, head_dim]; pos: [tokens] absolute positions.
template <typename T>
void rope_forward(T* x, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec);
template <typename T>
void rope_backward(T* dx, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec);

template <typename T>
void rope_forward_ref(T* x, const int32_t* pos, int64_t tokens, int64_t heads, const RopeSpec& spec);

}  // namespace peft::ops
