#include "io/hf_names.h"

#include <cstring>
#include <map>

#include "core/error.h"

namespace peft {

namespace {

struct ModuleName {
  const char* gguf;  // suffix after "blk.N."
  const char* hf;    // suffix after "model.layers.N."
};
constexpr ModuleName kModules[] = {
    {"attn_q", "self_attn.q_proj"},     {"attn_k", "self_attn.k_proj"}, {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"}, {"ffn_gate", "mlp.gate_proj"},  {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"}};

// Splits "<prefix><digits>.<rest>" into the layer number and rest.
bool split_layer(const std::string& name, const std::string& prefix, long* layer, std::string* rest) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  size_t i = prefix.size(), start = i;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == start || i - start > 9 || i >= name.size() || name[i] != '.') return false;
  *layer = std::stol(name.substr(start, i - start));
  *rest = name.substr(i + 1);
  return true;
}

}  // namespace

std::string gguf_to_hf_module(const std::string& gguf_name) {
  long layer = 0;
  std::string rest;
  if (split_layer(gguf_name, "blk.", &layer, &rest))
    for (const auto& m : kModules)
      if (rest == m.gguf) return "model.layers." + std::to_string(layer) + "." + m.hf;
  fail("names", "no Hugging Face name for GGUF module '" + gguf_name + "'");
}

std::string hf_to_gguf_module(const std::string& hf_name) {
  std::string name = hf_name;
  const std::string peft_prefix = "base_model.model.";
  if (name.compare(0, peft_prefix.size(), peft_prefix) == 0) name = name.substr(peft_prefix.size());
  long layer = 0;
  std::string rest;
  if (split_layer(name, "model.layers.", &layer, &rest))
    for (const auto& m : kModules)
      if (rest == m.hf) return "blk." + std::to_string(layer) + "." + m.gguf;
  fail("names", "no GGUF name for Hugging Face module '" + hf_name + "'");
}

std::vector<int32_t> gguf_to_hf_rows(int64_t rows, int64_t heads) {
  if (heads <= 0 || rows <= 0 || rows % (2 * heads) != 0)
    fail("names", "cannot split " + std::to_string(rows) + " rows into " + std::to_string(heads) +
                      " rotary heads of even size");
  if (rows > INT32_MAX) fail("names", "too many rows for a row permutation");
  const int64_t head_dim = rows / heads, half = head_dim / 2;
  std::vector<int32_t> perm(rows);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j)
        perm[h * head_dim + 2 * i + j] = static_cast<int32_t>(h * head_dim + j * half + i);
  return perm;
}

std::vector<int32_t> invert_permutation(const std::vector<int32_t>& perm) {
  const int64_t n = static_cast<int64_t>(perm.size());
  std::vector<int32_t> inv(n, -1);
  for (int64_t i = 0; i < n; ++i) {
    if (perm[i] < 0 || perm[i] >= n || inv[perm[i]] != -1) fail("names", "not a permutation");
    inv[perm[i]] = static_cast<int32_t>(i);
  }
  return inv;
}

template <typename T>
void scatter_rows(const T* src, T* dst, int64_t rows, int64_t cols, const std::vector<int32_t>& perm) {
  if (static_cast<int64_t>(perm.size()) != rows) fail("names", "row permutation length does not match the rows");
  std::vector<char> seen(rows, 0);
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t p = perm[i];
    if (p < 0 || p >= rows || seen[p]) fail("names", "not a permutation");
    seen[p] = 1;
    std::memcpy(dst + p * cols, src + i * cols, sizeof(T) * cols);
  }
}

template void scatter_rows<float>(const float*, float*, int64_t, int64_t, const std::vector<int32_t>&);
template void scatter_rows<double>(const double*, double*, int64_t, int64_t, const std::vector<int32_t>&);

}  // namespace peft
