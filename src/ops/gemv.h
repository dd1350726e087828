// Matrix-vector products for decoding (one token at a time): y = W x with W
// [rows, cols] row-major, the layout of every linear weight [out, in].
//
// With a single input row a GEMM is bound by reading W once from memory, so
// these kernels do exactly that: each output row is one dot product over a
// row of W, the rows are split over threads (contiguous ranges, so each
// thread streams its own part of W), four rows share each load of x, and the
// arithmetic is AVX2/FMA where the compiler targets it (scalar otherwise).
// Each y[r] is summed by one thread in a fixed order: the result does not
// depend on the thread count.
//
// Stored weights (bf16, f16, Q8_0, Q4_0, K-quants) are read in their storage
// type and converted block by block on the way into the dot product; no f32
// copy of W is ever made.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace peft::ops {

// y[r] = alpha · Σ_c W[r·ldw + c] · x[c] + beta · y[r]   for r < rows
// (beta == 0: y is not read).
void gemv_f32(const float* W, int64_t ldw, const float* x, float* y, int64_t rows, int64_t cols, float alpha = 1.0f,
              float beta = 0.0f);

// The same over rows stored as `dtype`, each row `row_bytes` bytes apart
// (dtype_bytes(dtype, cols) for a packed matrix); cols must be a multiple of
// the type's block size.
void gemv_stored(DType dtype, const void* W, int64_t row_bytes, const float* x, float* y, int64_t rows, int64_t cols,
                 float beta = 0.0f);

}  // namespace peft::ops
