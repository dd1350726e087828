// The backend seam (docs/backends.md): where frozen weights are stored and
// how the products that read them run. Model, adapter and trainer code never
// call a backend's kernels by name; they hold StoredMatrix weights and go
// through ops/weight_ops.h, which routes here. The CPU backend is the only
// one today; a CUDA backend would implement this same interface over device
// memory and be chosen by set_backend() at start-up.
//
// All products are in the compute type f32 with f32 accumulation, whatever
// the storage type: the backend dequantizes (or converts) W as it goes.
#pragma once
#include <cstdint>

#include "core/stored_matrix.h"

namespace peft::ops {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Storage: a frozen matrix [rows, cols] in `dtype`, from f32 values or from
  // rows encoded as `src_type` (a GGUF tensor's bytes; converted if needed).
  virtual StoredMatrix store(DType dtype, const float* src, int64_t rows, int64_t cols) = 0;
  virtual StoredMatrix store_encoded(DType dtype, DType src_type, const void* src, int64_t rows, int64_t cols) = 0;
  // dst [nr, cols] f32 = W rows r0 .. r0+nr (for merging and full fine-tuning).
  virtual void rows_to_f32(const StoredMatrix& W, int64_t r0, int64_t nr, float* dst) = 0;

  // y[n, nr] (row stride ldy) = x[n, cols] · W[r0 : r0+nr]ᵀ + beta · y
  // (forward of a linear layer, or of one vocabulary chunk of the output head).
  virtual void matmul_rows_t(const float* x, int64_t n, const StoredMatrix& W, int64_t r0, int64_t nr, float* y,
                             int64_t ldy, float beta) = 0;
  // dx[n, cols] = dy[n, nr] (row stride ldd) · W[r0 : r0+nr] + beta · dx
  // (input gradient; beta = 1 accumulates).
  virtual void matmul_rows(const float* dy, int64_t ldd, int64_t n, const StoredMatrix& W, int64_t r0, int64_t nr,
                           float* dx, float beta) = 0;
  // y[i, :] = W[ids[i], :] for i < n (token embedding); ids already checked.
  virtual void gather_rows(const StoredMatrix& W, const int32_t* ids, int64_t n, float* y) = 0;
};

// The active backend (the CPU one unless set_backend chose another).
Backend& backend();
Backend& cpu_backend();
void set_backend(Backend* b);  // null: back to the CPU backend

}  // namespace peft::ops
