// The CPU backend: frozen weights in host memory, products by dequantizing a
// panel of W's rows into a per-thread f32 buffer and running sgemm on it.
//
// Forward  y = x Wᵀ:  for each panel P of rows, y[:, P] = x · W[P]ᵀ   (one sgemm)
// Backward dx = dy W: dx = Σ_P dy[:, P] · W[P]                       (accumulating)
// A panel holds about kPanelFloats values (2 MiB), so the buffer stays in
// cache-sized pieces and the model is never converted whole. Each panel's
// dequantization costs O(rows·cols) against the sgemm's O(n·rows·cols): for
// training batches (n in the thousands) it is noise. For a handful of rows
// (decoding) there is nothing to amortise, so W is walked row by row instead:
// one row (a decode step) goes to the matrix-vector kernels, which read each
// block of W in its storage type straight into the dot product (quantized
// types against an int8-quantized x, ops/gemv_q8.h); two to eight
// rows dequantize each row of W into a per-thread buffer and dot it with
// every x.
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "ops/backend.h"
#include "ops/gemv.h"
#include "ops/gemv_q8.h"
#include "ops/matmul.h"

namespace peft::ops {

namespace {

constexpr int64_t kPanelFloats = int64_t{1} << 19;
constexpr int64_t kRowwiseMaxN = 8;

std::vector<float>& thread_buffer(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// Rows of a panel dequantized in parallel: each row is independent.
void dequant_panel(const StoredMatrix& W, int64_t r0, int64_t nr, float* dst) {
  const int64_t cols = W.cols();
#pragma omp parallel for schedule(static) if (nr * cols > 32768)
  for (int64_t r = 0; r < nr; ++r) W.rows_to_f32(r0 + r, 1, dst + r * cols);
}

int64_t panel_rows(int64_t cols, int64_t nr) { return std::clamp<int64_t>(kPanelFloats / cols, 8, std::max<int64_t>(nr, 1)); }

void check_rows(const StoredMatrix& W, int64_t r0, int64_t nr) {
  PEFT_CHECK(!W.empty() && r0 >= 0 && nr >= 0 && r0 + nr <= W.rows(), "ops", "stored weight rows out of range");
}

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  StoredMatrix store(DType dtype, const float* src, int64_t rows, int64_t cols) override {
    return StoredMatrix::from_f32(dtype, src, rows, cols);
  }
  StoredMatrix store_encoded(DType dtype, DType src_type, const void* src, int64_t rows, int64_t cols) override {
    return StoredMatrix::convert(dtype, src_type, src, rows, cols);
  }
  void rows_to_f32(const StoredMatrix& W, int64_t r0, int64_t nr, float* dst) override {
    check_rows(W, r0, nr);
    dequant_panel(W, r0, nr, dst);
  }

  void matmul_rows_t(const float* x, int64_t n, const StoredMatrix& W, int64_t r0, int64_t nr, float* y, int64_t ldy,
                     float beta) override {
    check_rows(W, r0, nr);
    const int64_t cols = W.cols();
    if (n == 0 || nr == 0) return;
    if (n == 1) {
      // A decode step over a block-quantized weight: x quantized to int8 once,
      // integer dot products per block (ops/gemv_q8.h); PEFT_QUANT_DOT=f32
      // keeps the widening kernel.
      if (gemv_q8_supports(W.dtype()) && quant_dot_enabled()) {
        gemv_q8(W.dtype(), W.row(r0), W.row_bytes(), x, y, nr, cols, beta);
        return;
      }
      gemv_stored(W.dtype(), W.row(r0), W.row_bytes(), x, y, nr, cols, beta);
      return;
    }
    if (n <= kRowwiseMaxN) {
#pragma omp parallel for schedule(static) if (nr * cols > 32768)
      for (int64_t r = 0; r < nr; ++r) {
        float* w = thread_buffer(static_cast<size_t>(cols)).data();
        W.rows_to_f32(r0 + r, 1, w);
        for (int64_t i = 0; i < n; ++i) {
          const float* xi = x + i * cols;
          float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
          for (int64_t c = 0; c < cols; ++c) acc += xi[c] * w[c];
          float& out = y[i * ldy + r];
          out = beta == 0.0f ? acc : acc + beta * out;
        }
      }
      return;
    }
    const int64_t P = panel_rows(cols, nr);
    float* panel = thread_buffer(static_cast<size_t>(P * cols)).data();
    for (int64_t p0 = 0; p0 < nr; p0 += P) {
      const int64_t np = std::min(P, nr - p0);
      dequant_panel(W, r0 + p0, np, panel);
      gemm<float>(false, true, n, np, cols, 1.0f, x, cols, panel, cols, beta, y + p0, ldy);
    }
  }

  void matmul_rows(const float* dy, int64_t ldd, int64_t n, const StoredMatrix& W, int64_t r0, int64_t nr, float* dx,
                   float beta) override {
    check_rows(W, r0, nr);
    const int64_t cols = W.cols();
    if (n == 0) return;
    if (nr == 0) {
      for (int64_t i = 0; i < n * cols; ++i) dx[i] = beta == 0.0f ? 0.0f : beta * dx[i];
      return;
    }
    const int64_t P = panel_rows(cols, nr);
    float* panel = thread_buffer(static_cast<size_t>(P * cols)).data();
    for (int64_t p0 = 0; p0 < nr; p0 += P) {
      const int64_t np = std::min(P, nr - p0);
      dequant_panel(W, r0 + p0, np, panel);
      gemm<float>(false, false, n, cols, np, 1.0f, dy + p0, ldd, panel, cols, p0 == 0 ? beta : 1.0f, dx, cols);
    }
  }

  void gather_rows(const StoredMatrix& W, const int32_t* ids, int64_t n, float* y) override {
    const int64_t cols = W.cols();
#pragma omp parallel for schedule(static) if (n * cols > 65536)
    for (int64_t i = 0; i < n; ++i) W.rows_to_f32(ids[i], 1, y + i * cols);
  }
};

Backend* g_active = nullptr;

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

Backend& backend() { return g_active ? *g_active : cpu_backend(); }

void set_backend(Backend* b) { g_active = b; }

}  // namespace peft::ops
