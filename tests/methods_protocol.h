// The methods protocol's data and score, shared by the tests that train
// stories260K and compare held-out NLLs (test_methods_e2e,
// test_stored_base_train): tinyshakespeare tokenized once, its last 10% held
// out, scored as the mean NLL over the first 8 held-out windows of 128 tokens.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/text_windows.h"
#include "io/atomic_file.h"
#include "test_util.h"
#include "train/pretrained.h"
#include "train/training_data.h"

namespace peft::test {

struct MethodsCorpus {
  std::vector<int32_t> train, eval;
};

inline const MethodsCorpus& methods_corpus() {
  static MethodsCorpus c = [] {
    Pretrained p = load_pretrained(shared_path("models/stories260K.gguf"));
    std::string text = read_file_bytes(shared_path("data/tinyshakespeare/input.txt"));
    MethodsCorpus r;
    split_stream(tokenize_stream(text, *p.tokenizer), 0.1, p.tokenizer->bos_id(), r.train, r.eval);
    return r;
  }();
  return c;
}

inline double methods_heldout_nll(LlamaModel<float>& m) {
  TextWindows ev(methods_corpus().eval, 128, Sampling::Epochs, 0);
  double sum = 0;
  int64_t n = 0;
  for (const Batch& b : ev.eval_batches(4, 8)) {
    sum += m.forward_loss(b);
    n += b.scored();
  }
  return sum / static_cast<double>(n);
}

}  // namespace peft::test
