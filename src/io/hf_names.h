// Names and row orders between llama.cpp's GGUF layout and Hugging Face's
// (REFERENCE.md §8-10), for writing adapters a GGUF-loaded model trained in
// the files other tools expect.
//
// Module names: "blk.N.attn_q" ↔ "model.layers.N.self_attn.q_proj" (k, v;
// attn_output ↔ o_proj), "blk.N.ffn_gate" ↔ "model.layers.N.mlp.gate_proj"
// (up, down).
//
// Row order of q and k: llama.cpp's converter permutes HF's rows so that the
// two halves of each head's rotary pairs interleave. With head_dim = 2·half
// and rows viewed as [heads, 2, half] in HF order, GGUF's rows are the view
// [heads, half, 2]:
//   GGUF row h·head_dim + 2·i + j  holds  HF row h·head_dim + j·half + i,
// for i < half, j ∈ {0, 1}. The head count is n_head for q and n_head_kv for k.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

// "blk.3.attn_q" → "model.layers.3.self_attn.q_proj". Throws InputError for
// a name outside the mapping.
std::string gguf_to_hf_module(const std::string& gguf_name);
// The inverse; a leading "base_model.model." (PEFT's prefix) is accepted.
std::string hf_to_gguf_module(const std::string& hf_name);

// perm[g] = the HF row held by GGUF row g, for a q or k weight of `rows` rows
// split into `heads` heads. Throws InputError unless rows = heads · 2 · half.
std::vector<int32_t> gguf_to_hf_rows(int64_t rows, int64_t heads);
// The inverse permutation: inv[perm[g]] = g.
std::vector<int32_t> invert_permutation(const std::vector<int32_t>& perm);

// dst[perm[i], :] = src[i, :] for a row-major [rows, cols] matrix (or a
// vector with cols = 1). With perm = gguf_to_hf_rows(...) this takes a
// matrix whose rows are in GGUF order into HF order.
template <typename T>
void scatter_rows(const T* src, T* dst, int64_t rows, int64_t cols, const std::vector<int32_t>& perm);

}  // namespace peft
