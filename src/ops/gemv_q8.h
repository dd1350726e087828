// Matrix-vector products over block-quantized weights (Q8_0, Q4_0, Q4_K,
// Q5_K, Q6_K) with the activation quantized too, for decoding.
//
// gemv_stored (ops/gemv.h) widens every weight to f32 and does float FMAs;
// here x is quantized once per product to int8 in blocks of B values,
//   d_b = max_{i∈b} |x_i| / 127,   q_i = round(x_i / d_b)   (|q_i| ≤ 127),
// B = 32 for Q8_0/Q4_0 (their own block) and B = 256 for the K-quants (one
// factor per super-block, so the sub-block scales stay integers), and each
// weight block's dot product with x is an integer sum (exact), scaled once
// by the two blocks' float factors:
//   Q8_0:      Σ_b d_w·d_b · Σ_i w_i q_i
//   Q4_0:      Σ_b d_w·(d_b·Σ_i w_i q_i − 8·s_b)             (w_i ∈ [0, 15])
//   Q4_K/Q5_K: Σ_B d·d_B·Σ_j sc_j·Σ_{i∈j} w_i q_i − dmin·d_B·Σ_j m_j·t_j
//   Q6_K:      Σ_B d·d_B·Σ_j sc_j·Σ_{i∈j} (w_i − 32)·q_i     (j: sub-blocks)
// with s_b = d_b·Σ_{i∈b} q_i and t_j = Σ_{i∈j} q_i over each 32 values.
// The weight bytes are read once and never widened to float, so the loop
// moves a quarter of the data through the FPU and stays bound by reading W.
//
// The result is the exact product of the dequantized W with the quantized x
// (x̂_i = d_b·q_i) up to float rounding of the per-block scaling and the
// running sums; against the f32 product it differs by Σ_i W_i·(x̂_i − x_i),
// at most Σ_i |W_i|·d_b/2.
//
// Instruction set chosen at run time: AVX2 (with FMA and F16C) where the CPU
// has it, portable scalar code otherwise. Rows are split over OpenMP threads
// in contiguous ranges; each y[r] is summed by one thread in a fixed order.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace peft::ops {

// x quantized to int8 blocks of `block` (32 or 256) values: n values q,
// per block its factor d and s = d·Σq, and per 32 values t = Σq (the
// integer sums the K-quants' offsets need).
struct Q8Activation {
  int64_t n = 0, block = 32;
  std::vector<int8_t> q;
  std::vector<float> d, s;
  std::vector<int32_t> t;
};

// n must be a multiple of `block` (32 or 256). Non-finite x give a NaN d for
// their block (the product is then NaN, where the f32 one is not finite).
void quantize_activation(const float* x, int64_t n, Q8Activation& out, int64_t block = 32);

// The block of x that products with `dtype` take: 32, or 256 for K-quants.
int64_t gemv_q8_x_block(DType dtype);

// Whether gemv_q8 has a kernel for weights of this type.
bool gemv_q8_supports(DType dtype);

enum class DotIsa { Auto, Scalar, Avx2 };
// Whether the CPU we run on can take the AVX2 kernels.
bool gemv_q8_has_avx2();

// y[r] = Σ_c W[r, c]·x̂[c] + beta·y[r]  for r < rows (beta == 0: y not read);
// rows of `dtype`, `row_bytes` apart, each xq.n columns; xq quantized in
// blocks of gemv_q8_x_block(dtype). isa Avx2 on a CPU without it is an
// internal error.
void gemv_q8(DType dtype, const void* W, int64_t row_bytes, const Q8Activation& xq, float* y, int64_t rows,
             float beta = 0.0f, DotIsa isa = DotIsa::Auto);

// Quantizes x (cols values, into a per-thread buffer) and calls the above.
void gemv_q8(DType dtype, const void* W, int64_t row_bytes, const float* x, float* y, int64_t rows, int64_t cols,
             float beta = 0.0f);

// Whether one-token products over quantized weights take this path (the
// default) or gemv_stored's f32 one: PEFT_QUANT_DOT=f32 in the environment
// picks the latter (for benchmarks and comparisons), read once.
bool quant_dot_enabled();

}  // namespace peft::ops
