// The two perplexity protocols of src/train/perplexity.h on stories260K,
// checked through identities that do not repeat their code: the model is
// causal, so the NLL llama.cpp's protocol scores in a chunk (tokens N/2+1 ..
// N−1) is the NLL of the whole chunk minus that of its first N/2+1 tokens,
// both taken with the sliding protocol in one window.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "io/atomic_file.h"
#include "test_util.h"
#include "train/perplexity.h"
#include "train/pretrained.h"

using namespace peft;

namespace {

Pretrained& model() {
  static Pretrained p = load_pretrained(test::shared_path("models/stories260K.gguf"));
  return p;
}

std::vector<int32_t> text_tokens(size_t bytes) {
  std::string text = read_file_bytes(test::shared_path("data/tinyshakespeare/input.txt")).substr(1000, bytes);
  return model().tokenizer->encode(text, false);
}

// Sum of NLL over tokens[1..n−1] predicted from their prefix, in one window.
double nll_sum(const std::vector<int32_t>& t) {
  PerplexityResult r = perplexity(*model().model, t, static_cast<int64_t>(t.size()), 0);
  EXPECT_EQ(r.windows, 1);
  return r.mean_nll * static_cast<double>(r.tokens);
}

TEST(Perplexity, ChunkedScoresTheSecondHalfOfEachChunkAndDropsTheTail) {
  const int64_t N = 32;
  const int32_t bos = model().tokenizer->bos_id();
  std::vector<int32_t> ids = text_tokens(400);
  ids.insert(ids.begin(), bos);
  ids.resize(3 * N + 7);  // 3 chunks and a tail of 7 that is not scored
  double want = 0;
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<int32_t> chunk(ids.begin() + c * N, ids.begin() + (c + 1) * N);
    chunk[0] = bos;
    std::vector<int32_t> head(chunk.begin(), chunk.begin() + N / 2 + 1);
    want += nll_sum(chunk) - nll_sum(head);
  }
  PerplexityResult r = perplexity_chunked(*model().model, ids, N, bos);
  EXPECT_EQ(r.windows, 3);
  EXPECT_EQ(r.tokens, 3 * (N - N / 2 - 1));
  EXPECT_NEAR(r.mean_nll * static_cast<double>(r.tokens), want, 1e-3);
  EXPECT_NEAR(r.perplexity, std::exp(r.mean_nll), 1e-9 * r.perplexity);

  // At most 2 chunks: the first two's NLL.
  PerplexityResult two = perplexity_chunked(*model().model, ids, N, bos, 2);
  EXPECT_EQ(two.windows, 2);
  EXPECT_EQ(two.tokens, 2 * (N - N / 2 - 1));
  // Changing a tail token changes nothing; changing a scored one does.
  std::vector<int32_t> tail = ids;
  tail.back() = (tail.back() + 1) % 512;
  EXPECT_EQ(perplexity_chunked(*model().model, tail, N, bos).mean_nll, r.mean_nll);
  std::vector<int32_t> scored = ids;
  scored[N + N - 1] = (scored[N + N - 1] + 1) % 512;
  EXPECT_NE(perplexity_chunked(*model().model, scored, N, bos).mean_nll, r.mean_nll);
}

TEST(Perplexity, ChunkedRefusesTextsShorterThanTwoChunks) {
  std::vector<int32_t> ids = text_tokens(400);
  ids.resize(63);
  EXPECT_THROW(perplexity_chunked(*model().model, ids, 32, 1), InputError);
  ids = text_tokens(400);
  ids.resize(64);
  EXPECT_NO_THROW(perplexity_chunked(*model().model, ids, 32, 1));
}

TEST(Perplexity, OfTextAppliesEachProtocolsTokenizationAndDefaults) {
  std::string text = read_file_bytes(test::shared_path("data/tinyshakespeare/input.txt")).substr(1000, 400);
  std::vector<int32_t> ids = model().tokenizer->encode(text, false);
  ids.insert(ids.begin(), model().tokenizer->bos_id());

  PerplexityOptions o;  // sliding, the model's context (2048): one window
  PerplexityResult s = perplexity_of_text(*model().model, *model().tokenizer, text, o);
  EXPECT_EQ(s.windows, 1);
  EXPECT_EQ(s.tokens, static_cast<int64_t>(ids.size()) - 1);
  EXPECT_NEAR(s.mean_nll * static_cast<double>(s.tokens), nll_sum(ids), 1e-3);

  o.protocol = PerplexityProtocol::LlamaCpp;
  o.context = 32;
  PerplexityResult c = perplexity_of_text(*model().model, *model().tokenizer, text, o);
  PerplexityResult d = perplexity_chunked(*model().model, ids, 32, model().tokenizer->bos_id());
  EXPECT_EQ(c.tokens, d.tokens);
  EXPECT_EQ(c.mean_nll, d.mean_nll);

  o.stride = 8;  // a sliding-only setting
  EXPECT_THROW(perplexity_of_text(*model().model, *model().tokenizer, text, o), InputError);
  EXPECT_EQ(parse_perplexity_protocol("llama.cpp"), PerplexityProtocol::LlamaCpp);
  EXPECT_EQ(parse_perplexity_protocol("sliding"), PerplexityProtocol::Sliding);
  EXPECT_THROW(parse_perplexity_protocol("llama"), InputError);
}

}  // namespace
