#include "tokenizer/bpe_tokenizer.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/utf8.h"

namespace peft {

const char* const kGpt2SplitRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct Symbol {
  int32_t id;  // current token, -1 for a character the vocabulary lacks
  uint32_t off, len;
  int32_t prev, next;
};

struct Candidate {
  int32_t rank;
  int32_t left, right;
  int32_t left_id, right_id;  // ids at push time; stale entries no longer match
};

// Min-heap order: lower rank first, then the leftmost pair.
struct CandidateLess {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

BpeTokenizer::BpeTokenizer(BpeVocab vocab) : v_(std::move(vocab)) {
  const size_t n = v_.tokens.size();
  if (n == 0) fail("tokenizer", "BPE vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer", "vocabulary too large");
  set_tokens(std::move(v_.tokens), std::move(v_.types));
  for (int32_t* id : {&v_.bos, &v_.eos, &v_.unk})
    if (*id < 0 || *id >= static_cast<int32_t>(n)) *id = -1;

  merges_.reserve(v_.merges.size());
  for (size_t r = 0; r < v_.merges.size(); ++r) {
    const std::string& m = v_.merges[r];
    // Split at the first space after the first character: a token can itself
    // be " " only in vocabularies that are not byte-mapped.
    size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) fail("tokenizer", "merge " + std::to_string(r) + " '" + m + "' has no space");
    int32_t a = lookup(m.substr(0, sp)), b = lookup(m.substr(sp + 1));
    int32_t ab = lookup(m.substr(0, sp) + m.substr(sp + 1));
    if (a < 0 || b < 0 || ab < 0) continue;
    merges_.emplace(pair_key(a, b), Merge{static_cast<int32_t>(r), ab});  // first (best) rank wins
  }
  splitter_ = std::make_unique<RegexSequenceSplitter>(v_.split_regexes);
}

void BpeTokenizer::encode_word(std::string_view raw, std::vector<int32_t>& out) const {
  const std::string word = bytes_to_unicode(raw);
  if (word.empty()) return;
  if (v_.ignore_merges) {
    const int32_t whole = lookup(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<Symbol> syms;
  std::string scratch;
  for (size_t off = 0; off < word.size();) {
    size_t len = std::min(utf8_seq_len(static_cast<uint8_t>(word[off])), word.size() - off);
    scratch.assign(word, off, len);
    int32_t idx = static_cast<int32_t>(syms.size());
    syms.push_back({lookup(scratch), static_cast<uint32_t>(off), static_cast<uint32_t>(len), idx - 1, idx + 1});
    off += len;
  }
  if (syms.empty()) return;
  syms.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateLess> queue;
  auto try_pair = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || syms[l].id < 0 || syms[r].id < 0) return;
    auto it = merges_.find(pair_key(syms[l].id, syms[r].id));
    if (it != merges_.end()) queue.push({it->second.rank, l, r, syms[l].id, syms[r].id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) try_pair(i, i + 1);

  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    Symbol& l = syms[c.left];
    Symbol& r = syms[c.right];
    if (l.len == 0 || r.len == 0 || l.next != c.right || l.id != c.left_id || r.id != c.right_id) continue;
    l.id = merges_.at(pair_key(l.id, r.id)).result;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    try_pair(l.prev, c.left);
    try_pair(c.left, l.next);
  }

  for (int32_t i = 0; i != -1; i = syms[i].next) {
    const Symbol& s = syms[i];
    if (s.id >= 0) {
      out.push_back(s.id);
    } else if (v_.unk >= 0) {
      out.push_back(v_.unk);
    } else {
      fail("tokenizer", "word '" + std::string(raw) + "' has a character the vocabulary cannot spell");
    }
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special && v_.add_bos && v_.bos >= 0) out.push_back(v_.bos);
  for (const TextPiece& p : split_special(text)) {
    if (p.token >= 0) {
      out.push_back(p.token);
      continue;
    }
    for (std::string_view word : splitter_->split(p.text)) encode_word(word, out);
  }
  if (add_special && v_.add_eos && v_.eos >= 0) out.push_back(v_.eos);
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  for (int32_t id : ids) {
    check_decode_id(id);
    TokenType t = type(id);
    if (t == TokenType::Control || t == TokenType::Unknown) {
      if (!skip_special) out += text(id);
    } else if (t == TokenType::UserDefined) {
      out += text(id);  // added tokens are stored as plain text, not byte-mapped
    } else {
      out += unicode_to_bytes(text(id));
    }
  }
  return out;
}

std::string BpeTokenizer::summary() const {
  return "byte-level BPE (pre-tokenizer " + v_.name + "), " + std::to_string(vocab_size()) + " tokens, bos " + std::to_string(v_.bos) +
         ", eos " + std::to_string(v_.eos);
}

}  // namespace peft
