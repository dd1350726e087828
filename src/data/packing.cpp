#include "data/packing.h"

#include <algorithm>

#include "core/error.h"

namespace peft {

namespace {

int64_t slots(const Example& e) { return static_cast<int64_t>(e.tokens.size()) - 1; }

}  // namespace

PrepareStats prepare_examples(std::vector<Example>& examples, int64_t seq_len) {
  PrepareStats st;
  std::vector<Example> kept;
  kept.reserve(examples.size());
  for (Example& e : examples) {
    if (static_cast<int64_t>(e.tokens.size()) > seq_len + 1) {
      e.tokens.resize(seq_len + 1);
      e.scored.resize(seq_len + 1);
      ++st.truncated;
    }
    // A target needs a token before it, so scored[0] never counts.
    bool any = false;
    for (size_t i = 1; i < e.scored.size(); ++i) any = any || e.scored[i];
    if (e.tokens.size() < 2 || !any) {
      ++st.dropped;
      continue;
    }
    kept.push_back(std::move(e));
  }
  examples = std::move(kept);
  return st;
}

Packing pack_examples(const std::vector<Example>& examples, std::vector<int64_t> order, int64_t seq_len) {
  Packing p;
  p.order = std::move(order);
  int64_t used = seq_len;  // forces a new row for the first example
  for (int64_t i = 0; i < static_cast<int64_t>(p.order.size()); ++i) {
    int64_t n = slots(examples[p.order[i]]);
    PEFT_CHECK(n >= 1 && n <= seq_len, "data", "an example does not fit a row; prepare_examples must run first");
    if (used + n > seq_len) {
      p.starts.push_back(i);
      used = 0;
    }
    used += n;
  }
  p.starts.push_back(static_cast<int64_t>(p.order.size()));
  if (p.order.empty()) p.starts.assign(1, 0);
  return p;
}

void fill_packed_row(const std::vector<Example>& examples, const Packing& p, int64_t row, int32_t pad_id, Batch& b,
                     int64_t r) {
  const int64_t T = b.T;
  int32_t* tok = b.tokens.data() + r * T;
  int32_t* tgt = b.targets.data() + r * T;
  int32_t* pos = b.positions.data() + r * T;
  int32_t* seg = b.segments.data() + r * T;
  int64_t t = 0;
  int32_t segment = 0;
  for (int64_t i = p.starts[row]; i < p.starts[row + 1]; ++i, ++segment) {
    const Example& e = examples[p.order[i]];
    int64_t n = slots(e);
    for (int64_t k = 0; k < n; ++k, ++t) {
      tok[t] = e.tokens[k];
      tgt[t] = e.scored[k + 1] ? e.tokens[k + 1] : -1;
      pos[t] = static_cast<int32_t>(k);
      seg[t] = segment;
    }
  }
  // Padding: its own segment, so no example attends to it and its queries
  // still see themselves (a row of all-masked keys would give 0/0).
  for (int32_t k = 0; t < T; ++t, ++k) {
    tok[t] = pad_id;
    tgt[t] = -1;
    pos[t] = k;
    seg[t] = segment;
  }
}

}  // namespace peft
