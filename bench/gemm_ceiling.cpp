// The machine's measured GEMM rate at the shapes of one LoRA training step,
// printed next to the training numbers so the step's GFLOP/s can be read
// against what the GEMM library itself reaches here (bench/kernels.sh).
//
//   gemm_ceiling --dim 768 --hidden 2048 --vocab 32000 --tokens 2048 [--seconds 0.5]
//
// For every product of the step (the seven frozen projections of a block,
// forward x·Wᵀ and input gradient dy·W, and the output head in the 4096-row
// vocabulary chunks that ops/cross_entropy uses) it times oneDNN's sgemm, the
// entry point ops/matmul calls, and prints GFLOP/s. "mix" is the step's mix:
// total FLOPs over total time, each product weighted by how often one step
// runs it (per layer: q, k, v, o, gate, up, down forward and backward; per
// vocabulary chunk of the frozen head: the logits and the gradient product
// of ops/cross_entropy's one-pass loss).
//
// bf16 (bf16 inputs, f32 accumulation, oneDNN matmul primitive) is timed only
// where oneDNN reports an ISA with native bf16 (avx512_core_bf16 or AMX);
// on other CPUs oneDNN would emulate it and the number would say nothing
// about the machine, so the column reads n/a.
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

struct Shape {
  std::string name;
  int64_t M, N, K;  // C[M,N] = A[M,K] · op(B)
  bool trans_b;     // B stored [N,K] (x·Wᵀ) or [K,N] (dy·W)
  double per_step;  // how many times one step runs it
};

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs fn until `budget` seconds have passed (at least 3 times after one
// warm-up call) and returns the best time of one call: the ceiling is what
// the library can do, so the best run is the honest estimate under load.
double time_best(const std::function<void()>& fn, double budget) {
  fn();
  double best = 1e30;
  const double t_end = seconds_now() + budget;
  for (int it = 0; it < 3 || seconds_now() < t_end; ++it) {
    const double t0 = seconds_now();
    fn();
    best = std::min(best, seconds_now() - t0);
    if (it > 200) break;
  }
  return best;
}

std::vector<float> filled(int64_t n, float v) { return std::vector<float>(static_cast<size_t>(n), v); }

bool has_native_bf16() {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

const char* isa_name() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "other";
  }
}

// bf16 matmul through the primitive API: A [M,K] bf16, B [K,N] bf16 (given
// strides for the transposed case), C [M,N] f32. The primitive is built once
// and only its execution is timed.
double time_bf16(const Shape& s, double budget) {
  using namespace dnnl;
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::dims a_dims{s.M, s.K}, b_dims{s.K, s.N}, c_dims{s.M, s.N};
  memory::desc a_md(a_dims, memory::data_type::bf16, memory::format_tag::ab);
  memory::desc b_md(b_dims, memory::data_type::bf16, s.trans_b ? memory::format_tag::ba : memory::format_tag::ab);
  memory::desc c_md(c_dims, memory::data_type::f32, memory::format_tag::ab);
  matmul::primitive_desc pd(matmul::desc(a_md, b_md, c_md), eng);
  matmul prim(pd);
  memory a(a_md, eng), b(b_md, eng), c(c_md, eng);
  std::memset(a.get_data_handle(), 0x3f, a_md.get_size());  // bf16 0x3f3f ≈ 0.75
  std::memset(b.get_data_handle(), 0x3f, b_md.get_size());
  return time_best(
      [&] {
        prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
        strm.wait();
      },
      budget);
}

double time_f32(const Shape& s, double budget) {
  std::vector<float> a = filled(s.M * s.K, 0.5f), b = filled(s.K * s.N, 0.25f), c = filled(s.M * s.N, 0.0f);
  const int64_t ldb = s.trans_b ? s.K : s.N;
  return time_best(
      [&] {
        dnnl_sgemm('N', s.trans_b ? 'T' : 'N', s.M, s.N, s.K, 1.0f, a.data(), s.K, b.data(), ldb, 0.0f, c.data(),
                   s.N);
      },
      budget);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t dim = 768, hidden = 2048, vocab = 32000, tokens = 2048, layers = 12;
  double budget = 0.5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dim") dim = std::atoll(v);
    else if (k == "--hidden") hidden = std::atoll(v);
    else if (k == "--vocab") vocab = std::atoll(v);
    else if (k == "--tokens") tokens = std::atoll(v);
    else if (k == "--layers") layers = std::atoll(v);
    else if (k == "--seconds") budget = std::atof(v);
    else {
      std::fprintf(stderr, "error: [bench] unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (dim <= 0 || hidden <= 0 || vocab <= 0 || tokens <= 0 || layers <= 0) {
    std::fprintf(stderr, "error: [bench] sizes must be positive\n");
    return 2;
  }
  const int64_t chunk = std::min<int64_t>(4096, vocab);
  const double L = static_cast<double>(layers), chunks = static_cast<double>(vocab) / chunk;
  const std::vector<Shape> shapes = {
      {"qkvo fwd x*W^T", tokens, dim, dim, true, 4 * L},
      {"qkvo bwd dy*W", tokens, dim, dim, false, 4 * L},
      {"gate/up fwd", tokens, hidden, dim, true, 2 * L},
      {"gate/up bwd", tokens, dim, hidden, false, 2 * L},
      {"down fwd", tokens, dim, hidden, true, L},
      {"down bwd", tokens, hidden, dim, false, L},
      {"head fwd (chunk)", tokens, chunk, dim, true, chunks},
      {"head dh (chunk)", tokens, dim, chunk, false, chunks},
  };
  const bool bf16 = has_native_bf16();
  std::printf("# gemm_ceiling: oneDNN %d.%d.%d, effective ISA %s, %d threads, dim %lld hidden %lld vocab %lld tokens %lld\n",
              dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch, isa_name(),
              omp_get_max_threads(), static_cast<long long>(dim), static_cast<long long>(hidden),
              static_cast<long long>(vocab), static_cast<long long>(tokens));
  std::printf("%-18s %6s %6s %6s %12s %12s\n", "product", "M", "N", "K", "f32 GFLOP/s", "bf16 GFLOP/s");
  double flops_total = 0, t_f32 = 0, t_bf16 = 0;
  for (const Shape& s : shapes) {
    const double flops = 2.0 * s.M * s.N * s.K;
    const double tf = time_f32(s, budget);
    double tb = 0;
    if (bf16) tb = time_bf16(s, budget);
    flops_total += flops * s.per_step;
    t_f32 += tf * s.per_step;
    t_bf16 += tb * s.per_step;
    char bcol[32];
    if (bf16) std::snprintf(bcol, sizeof bcol, "%12.1f", flops / tb * 1e-9);
    else std::snprintf(bcol, sizeof bcol, "%12s", "n/a");
    std::printf("%-18s %6lld %6lld %6lld %12.1f %s\n", s.name.c_str(), static_cast<long long>(s.M),
                static_cast<long long>(s.N), static_cast<long long>(s.K), flops / tf * 1e-9, bcol);
  }
  char bmix[32];
  if (bf16) std::snprintf(bmix, sizeof bmix, "%.1f", flops_total / t_bf16 * 1e-9);
  else std::snprintf(bmix, sizeof bmix, "\"n/a\"");
  std::printf("%-18s %6s %6s %6s %12.1f %12s\n", "mix", "", "", "", flops_total / t_f32 * 1e-9,
              bf16 ? bmix : "n/a");
  // One machine-readable line for bench/kernels.sh.
  std::printf("{\"gemm_ceiling\": {\"isa\": \"%s\", \"threads\": %d, \"f32_mix_gflops\": %.2f, \"bf16_mix_gflops\": %s, "
              "\"gemm_seconds_per_step_f32\": %.4f, \"gemm_flops_per_step\": %.6g}}\n",
              isa_name(), omp_get_max_threads(), flops_total / t_f32 * 1e-9, bmix, t_f32, flops_total);
  return 0;
}
