// Comparing two training runs' outputs: the data-parallel tests hold a run on
// N ranks against the same run in one process, tensor by tensor and step by
// step.
#pragma once
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

namespace peft::test {

// Largest |a − b| over every tensor of two safetensors files, which must hold
// the same names with the same sizes (a mismatch fails the calling test).
inline double max_tensor_diff(const std::string& a_path, const std::string& b_path) {
  auto a = SafetensorsFile::open(a_path), b = SafetensorsFile::open(b_path);
  EXPECT_EQ(a->names(), b->names());
  double d = 0;
  for (const std::string& n : a->names()) {
    Tensor ta = a->tensor(n).to_f32(), tb = b->tensor(n).to_f32();
    EXPECT_EQ(ta.numel(), tb.numel()) << n;
    for (int64_t i = 0; i < std::min(ta.numel(), tb.numel()); ++i)
      d = std::max(d, static_cast<double>(std::fabs(ta.ptr<float>()[i] - tb.ptr<float>()[i])));
  }
  return d;
}

// A field ("loss", "grad_norm", ...) of each optimizer-step record of a run's
// metrics.jsonl, in step order (evaluation records carry no grad_norm).
inline std::vector<double> metrics_series(const std::string& out, const char* key) {
  std::vector<double> l;
  std::istringstream in(read_file(out + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("grad_norm")) l.push_back(j[key].get<double>());
  }
  return l;
}

}  // namespace peft::test
