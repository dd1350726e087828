// Unigram (SentencePiece's T5/ALBERT/XLM-R models): the segmentation that
// maximises the sum of piece log-probabilities, found by Viterbi over the
// byte positions of the piece. Candidate pieces starting at a position come
// from a byte trie of the vocabulary; a character no piece covers gets the
// unk score min_score - 10 so a path always exists. Consecutive unks are
// fused (as in HF); with byte_fallback an unknown piece becomes its <0xHH>
// byte tokens instead of unk.
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "tokenizer/hf/byte_trie.h"
#include "tokenizer/hf/model.h"
#include "tokenizer/hf/string_map.h"
#include "tokenizer/hf/unicode.h"
#include "tokenizer/hf/vocab.h"

namespace peft::hf {

namespace {

constexpr double kUnkPenalty = 10.0;

class UnigramModel : public Model {
 public:
  explicit UnigramModel(const Json& j) {
    const std::string at = "model Unigram";
    const Json& vocab = require(j, "vocab", at);
    if (!vocab.is_array()) bad_format(at + ": \"vocab\" is not an array of [piece, score]");
    pieces_.reserve(vocab.size());
    scores_.reserve(vocab.size());
    min_score_ = std::numeric_limits<double>::infinity();
    for (const Json& e : vocab) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        bad_format(at + ": vocab entry " + std::to_string(pieces_.size()) + " is not [piece, score]");
      const int32_t id = static_cast<int32_t>(pieces_.size());
      pieces_.push_back(e[0].get<std::string>());
      scores_.push_back(e[1].get<double>());
      min_score_ = std::min(min_score_, scores_.back());
      ids_.insert(pieces_.back(), id);  // the first occurrence wins
      trie_.insert(pieces_.back(), id);
    }
    if (pieces_.empty()) bad_format(at + ": empty vocabulary");
    unk_id_ = static_cast<int32_t>(opt_int(j, "unk_id", -1, at));
    if (unk_id_ >= static_cast<int32_t>(pieces_.size())) bad_format(at + ": unk_id out of range");
    byte_fallback_ = opt_bool(j, "byte_fallback", false, at);
    for (int b = 0; b < 256; ++b) {
      static const char* kHex = "0123456789ABCDEF";
      byte_ids_[b] = ids_.find(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
    }
  }

  using Model::tokenize;
  void tokenize(std::string_view s, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const override;
  int32_t token_to_id(std::string_view token) const override { return ids_.find(token); }
  const std::string* id_to_token(int32_t id) const override {
    return id >= 0 && id < size() ? &pieces_[id] : nullptr;
  }
  int32_t size() const override { return static_cast<int32_t>(pieces_.size()); }
  std::string kind() const override { return "Unigram"; }

 private:
  void emit(std::string_view piece, int32_t id, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const;
  void emit_ids(std::string_view piece, int32_t id, std::vector<int32_t>& out) const;

  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  StringIdMap ids_;
  ByteTrie trie_;
  double min_score_ = 0;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  std::array<int32_t, 256> byte_ids_{};
};

void UnigramModel::tokenize(std::string_view s, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const {
  if (s.empty()) return;
  struct Node {
    double score = 0;
    int32_t from = -1;  // start byte of the best last piece ending here
    int32_t id = -1;
  };
  const size_t n = s.size();
  std::vector<Node> best(n + 1);
  best[0].from = 0;
  const double unk_score = min_score_ - kUnkPenalty;
  size_t pos = 0;
  while (pos < n) {
    const size_t clen = std::min(cp_len(static_cast<uint8_t>(s[pos])), n - pos);
    if (best[pos].from < 0) {  // unreachable; cannot happen, positions advance by characters
      pos += clen;
      continue;
    }
    const double base = best[pos].score;
    bool single_char_piece = false;
    trie_.prefixes(s.substr(pos), [&](size_t len, int32_t id) {
      Node& t = best[pos + len];
      const double cand = base + scores_[id];
      if (t.from < 0 || cand > t.score) t = {cand, static_cast<int32_t>(pos), id};
      if (len == clen) single_char_piece = true;
    });
    if (!single_char_piece) {
      Node& t = best[pos + clen];
      const double cand = base + unk_score;
      if (t.from < 0 || cand > t.score) t = {cand, static_cast<int32_t>(pos), unk_id_};
    }
    pos += clen;
  }
  // Walk back; runs of unk become one piece.
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end) of each piece, reversed
  std::vector<int32_t> ids;
  size_t end = n;
  while (end > 0) {
    const Node& node = best[end];
    const size_t begin = static_cast<size_t>(node.from);
    const bool is_unk = node.id < 0 || node.id == unk_id_;
    if (is_unk && !ids.empty() && (ids.back() < 0 || ids.back() == unk_id_) && spans.back().first == end) {
      spans.back().first = begin;
    } else {
      spans.push_back({begin, end});
      ids.push_back(node.id);
    }
    end = begin;
  }
  for (size_t k = spans.size(); k-- > 0;) {
    const std::string_view piece = s.substr(spans[k].first, spans[k].second - spans[k].first);
    emit(piece, ids[k], out, lens);
  }
}

void UnigramModel::emit(std::string_view piece, int32_t id, std::vector<int32_t>& out,
                        std::vector<uint32_t>* lens) const {
  const size_t before = out.size();
  emit_ids(piece, id, out);
  // Byte tokens cover one byte each; any other token the whole piece.
  if (lens) lens->insert(lens->end(), out.size() - before, out.size() - before == 1 ? static_cast<uint32_t>(piece.size()) : 1u);
}

void UnigramModel::emit_ids(std::string_view piece, int32_t id, std::vector<int32_t>& out) const {
  // The fused unk span may itself be a vocabulary piece; HF looks it up again.
  const int32_t known = token_to_id(piece);
  if (known >= 0 && (id < 0 || id == unk_id_)) {
    out.push_back(known);
    return;
  }
  if (id >= 0 && id != unk_id_) {
    out.push_back(id);
    return;
  }
  if (byte_fallback_) {
    bool all = true;
    for (char c : piece) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
    if (all) {
      for (char c : piece) out.push_back(byte_ids_[static_cast<uint8_t>(c)]);
      return;
    }
  }
  if (unk_id_ < 0) fail("tokenizer", "Unigram model: the text has a character no piece covers and the model has no unk_id");
  out.push_back(unk_id_);
}

}  // namespace

std::unique_ptr<Model> make_unigram_model(const Json& j) { return std::make_unique<UnigramModel>(j); }

}  // namespace peft::hf
