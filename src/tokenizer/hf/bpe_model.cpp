// Byte-pair encoding as Hugging Face tokenizers runs it: a piece starts as
// one symbol per character (with continuing_subword_prefix on all but the
// first and end_of_word_suffix on the last; unknown characters become their
// <0xHH> byte tokens under byte_fallback, else unk, consecutive unks fused
// under fuse_unk), then the adjacent pair with the lowest merge rank is
// merged until no pair has a rank. A min-heap of candidate pairs over a
// linked list of symbols makes that O(n log n) per piece; stale heap entries
// are recognised by re-checking the pair when popped. A very long piece (a
// whole document when there is no pre-tokenizer, as for Llama-2) is first
// cut between neighbours that no token holds side by side: no merge can
// join them, so the stretches merge independently with small, cache-warm
// heaps and the result is the same.
#include <array>
#include <mutex>
#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "tokenizer/hf/model.h"
#include "tokenizer/hf/pair_map.h"
#include "tokenizer/hf/string_map.h"
#include "tokenizer/hf/unicode.h"
#include "tokenizer/hf/vocab.h"

namespace peft::hf {

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
  bool live;
  uint32_t len;  // bytes of the word it covers
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // index of the left symbol
  int32_t new_id;
  // Lowest rank first, then leftmost.
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

class BpeModel : public Model {
 public:
  explicit BpeModel(const Json& j);

  using Model::tokenize;
  void tokenize(std::string_view piece, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const override;
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t size() const override { return vocab_.size(); }
  std::string kind() const override { return "BPE"; }

 private:
  void merge_word(std::string_view piece, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const;
  void merge_range(std::vector<Symbol>& syms, size_t begin, size_t end, std::vector<Candidate>& heap) const;
  const std::unordered_set<uint64_t>& inner_pairs() const;
  const MergeInfo* find_merge(int32_t a, int32_t b) const { return merges_.find(a, b); }

  Vocab vocab_;
  PairMap merges_;
  // Id of each one-byte character (no prefix/suffix case), -1 when absent:
  // skips a string hash for the common ASCII case.
  std::array<int32_t, 128> ascii_ids_{};
  std::string unk_token_;
  int32_t unk_id_ = -1;  // -1: no unk token configured (or not in the vocabulary)
  bool unk_missing_ = false;
  std::string prefix_;   // continuing_subword_prefix
  std::string suffix_;   // end_of_word_suffix
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_ids_{};  // id of "<0xHH>", -1 when absent

  // Ids of the tokens merges produce, and (built on first need) every pair of
  // adjacent characters inside one of them, packed as cp1 << 21 | cp2.
  std::vector<int32_t> merge_results_;
  mutable std::once_flag inner_once_;
  mutable std::unordered_set<uint64_t> inner_pairs_;

  // Pieces repeat a lot in real text ("the", " and"); remember short ones.
  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kCacheMaxKey = 256;
  // Words longer than this (bytes) are cut into independent stretches first;
  // shorter ones are not worth the bookkeeping.
  static constexpr size_t kSplitLongWord = 512;
  mutable std::mutex cache_mutex_;
  mutable StringIdMap cache_index_;                    // piece -> index in cache_ids_
  mutable std::vector<std::vector<int32_t>> cache_ids_;
};

BpeModel::BpeModel(const Json& j) {
  const std::string at = "model BPE";
  vocab_ = Vocab::from_json(require(j, "vocab", at), at);
  unk_token_ = opt_string(j, "unk_token", "", at);
  prefix_ = opt_string(j, "continuing_subword_prefix", "", at);
  suffix_ = opt_string(j, "end_of_word_suffix", "", at);
  fuse_unk_ = opt_bool(j, "fuse_unk", false, at);
  byte_fallback_ = opt_bool(j, "byte_fallback", false, at);
  ignore_merges_ = opt_bool(j, "ignore_merges", false, at);
  if (j.contains("unk_token") && !j.at("unk_token").is_null()) {
    unk_id_ = vocab_.find(unk_token_);
    // Some published files name an unk token their vocabulary lacks; HF
    // loads them and fails only when a character needs it. So do we.
    unk_missing_ = unk_id_ < 0;
  }
  for (int b = 0; b < 256; ++b) {
    static const char* kHex = "0123456789ABCDEF";
    const std::string name = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
    byte_ids_[b] = vocab_.find(name);
  }

  const Json& merges = require(j, "merges", at);
  if (!merges.is_array()) bad_format(at + ": \"merges\" is not an array");
  merges_.reserve(merges.size());
  for (int c = 0; c < 128; ++c) ascii_ids_[c] = vocab_.find(std::string(1, static_cast<char>(c)));
  int32_t rank = 0;
  for (const Json& m : merges) {
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      if (rank == 0 && s.rfind("#version", 0) == 0) continue;  // merges.txt header kept by old writers
      const size_t sp = s.find(' ');
      if (sp == std::string::npos) bad_format(at + ": merge " + std::to_string(rank + 1) + " '" + s + "' is not two tokens separated by a space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      bad_format(at + ": merge " + std::to_string(rank + 1) + " is neither \"a b\" nor [a, b]");
    }
    const int32_t ia = vocab_.find(a);
    const int32_t ib = vocab_.find(b);
    // The merged token drops b's continuing prefix: "hel" + "##lo" -> "hello".
    std::string merged = a;
    if (!prefix_.empty() && b.compare(0, prefix_.size(), prefix_) == 0) merged += b.substr(prefix_.size());
    else merged += b;
    const int32_t inew = vocab_.find(merged);
    if (ia < 0 || ib < 0 || inew < 0) {
      const std::string& missing = ia < 0 ? a : ib < 0 ? b : merged;
      bad_format(at + ": merge " + std::to_string(rank + 1) + " uses '" + missing + "', which is not in the vocabulary");
    }
    merges_.insert(ia, ib, MergeInfo{rank, inew});  // the first (lowest) rank wins
    merge_results_.push_back(inew);
    ++rank;
  }
}

void BpeModel::tokenize(std::string_view piece, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    const int32_t id = vocab_.find(piece);
    if (id >= 0) {
      out.push_back(id);
      if (lens) lens->push_back(static_cast<uint32_t>(piece.size()));
      return;
    }
  }
  if (lens) {  // the cache keeps ids only
    merge_word(piece, out, lens);
    return;
  }
  const bool cacheable = piece.size() <= kCacheMaxKey;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const int32_t k = cache_index_.find(piece);
    if (k >= 0) {
      out.insert(out.end(), cache_ids_[k].begin(), cache_ids_[k].end());
      return;
    }
  }
  const size_t start = out.size();
  merge_word(piece, out, nullptr);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_ids_.size() < kCacheCapacity && cache_index_.find(piece) < 0) {
      cache_index_.insert(piece, static_cast<int32_t>(cache_ids_.size()));
      cache_ids_.emplace_back(out.begin() + start, out.end());
    }
  }
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const {
  std::vector<Symbol> syms;
  syms.reserve(w.size());
  // The character each symbol stands for, or -1 (byte token, unk, or a
  // prefix/suffix in play): where two neighbours can never end up inside
  // one token, the word can be merged in independent stretches.
  std::vector<int32_t> cps;
  const bool track = w.size() > kSplitLongWord && prefix_.empty() && suffix_.empty();
  if (track) cps.reserve(w.size());
  auto add = [&](int32_t id, uint32_t len, int32_t cp = -1) {
    const int32_t n = static_cast<int32_t>(syms.size());
    syms.push_back({id, n - 1, -1, true, len});
    if (n > 0) syms[n - 1].next = n;
    if (track) cps.push_back(cp);
  };
  int32_t pending_unk = -1;  // an unk not yet added (so fuse_unk can extend it)
  uint32_t pending_len = 0;  // the bytes it covers
  std::string s;
  size_t i = 0;
  while (i < w.size()) {
    const size_t b = i;
    i += cp_len(static_cast<uint8_t>(w[i]));
    if (i > w.size()) i = w.size();
    const bool first = b == 0;
    const bool last = i == w.size();
    std::string_view ch = w.substr(b, i - b);
    int32_t id;
    if (prefix_.empty() && suffix_.empty()) {
      id = ch.size() == 1 && static_cast<uint8_t>(ch[0]) < 128 ? ascii_ids_[static_cast<uint8_t>(ch[0])] : vocab_.find(ch);
    } else {
      s.clear();
      if (!first) s += prefix_;
      s += ch;
      if (last) s += suffix_;
      ch = s;
      id = vocab_.find(s);
    }
    if (id >= 0) {
      if (pending_unk >= 0) {
        add(pending_unk, pending_len);
        pending_unk = -1;
      }
      int32_t cp = -1;
      if (track) {
        size_t k = 0;
        cp = static_cast<int32_t>(next_cp(ch, k));
      }
      add(id, static_cast<uint32_t>(i - b), cp);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        // HF leaves a pending unk in place here and adds it later.
        for (char c : ch) add(byte_ids_[static_cast<uint8_t>(c)], 1);
        continue;
      }
    }
    if (unk_missing_) {
      fail("tokenizer", "BPE model: the text has a character outside the vocabulary and unk_token '" + unk_token_ +
                            "' is not in the vocabulary either");
    }
    if (unk_id_ >= 0) {
      if (pending_unk >= 0 && !fuse_unk_) {
        add(pending_unk, pending_len);
        pending_unk = -1;
      }
      if (pending_unk < 0) pending_len = 0;
      pending_unk = unk_id_;
      pending_len += static_cast<uint32_t>(i - b);
    }
    // No unk token: the character is dropped, as HF does.
  }
  if (pending_unk >= 0) add(pending_unk, pending_len);

  std::vector<Candidate> heap;
  if (track && syms.size() > 1) {
    const auto& inner = inner_pairs();
    size_t begin = 0;
    for (size_t k = 1; k < syms.size(); ++k) {
      if (cps[k - 1] < 0 || cps[k] < 0) continue;
      const uint64_t key = (static_cast<uint64_t>(cps[k - 1]) << 21) | static_cast<uint64_t>(cps[k]);
      if (inner.count(key)) continue;
      // No token holds these two characters side by side, so no merge can
      // ever join them: cut the list here.
      syms[k - 1].next = -1;
      syms[k].prev = -1;
      merge_range(syms, begin, k, heap);
      begin = k;
    }
    merge_range(syms, begin, syms.size(), heap);
  } else {
    merge_range(syms, 0, syms.size(), heap);
  }
  for (const Symbol& sym : syms) {
    if (!sym.live) continue;
    out.push_back(sym.id);
    if (lens) lens->push_back(sym.len);
  }
}

// Runs the merges inside syms[begin, end), whose links stay inside it.
void BpeModel::merge_range(std::vector<Symbol>& syms, size_t begin, size_t end, std::vector<Candidate>& heap) const {
  const auto cmp = std::greater<Candidate>();
  heap.clear();
  for (size_t k = begin; k + 1 < end; ++k) {
    if (const MergeInfo* m = find_merge(syms[k].id, syms[k + 1].id))
      heap.push_back({m->rank, static_cast<int32_t>(k), m->new_id});
  }
  std::make_heap(heap.begin(), heap.end(), cmp);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = syms[top.pos];
    if (!left.live || left.next < 0) continue;
    Symbol& right = syms[left.next];
    // Stale entry: one side has been merged since it was pushed.
    const MergeInfo* m = find_merge(left.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;
    left.id = top.new_id;
    left.len += right.len;
    right.live = false;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const MergeInfo* pm = find_merge(syms[left.prev].id, left.id)) {
        heap.push_back({pm->rank, left.prev, pm->new_id});
        std::push_heap(heap.begin(), heap.end(), cmp);
      }
    }
    if (left.next >= 0) {
      if (const MergeInfo* nm = find_merge(left.id, syms[left.next].id)) {
        heap.push_back({nm->rank, top.pos, nm->new_id});
        std::push_heap(heap.begin(), heap.end(), cmp);
      }
    }
  }
}

const std::unordered_set<uint64_t>& BpeModel::inner_pairs() const {
  std::call_once(inner_once_, [&] {
    for (int32_t id : merge_results_) {
      const std::string* t = vocab_.token(id);
      if (t == nullptr) continue;
      size_t i = 0;
      int64_t prev = -1;
      while (i < t->size()) {
        const uint32_t cp = next_cp(*t, i);
        if (prev >= 0) inner_pairs_.insert((static_cast<uint64_t>(prev) << 21) | cp);
        prev = cp;
      }
    }
  });
  return inner_pairs_;
}

}  // namespace

std::unique_ptr<Model> make_bpe_model(const Json& j) { return std::make_unique<BpeModel>(j); }

}  // namespace peft::hf
