#include "tokenizer/spm_tokenizer.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace peft {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string escape_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char c : s) {
    if (c == ' ')
      out += kSpace;
    else
      out += c;
  }
  return out;
}

std::string unescape_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xNN>" -> NN, else -1.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// One symbol of the merge chain: a byte range of the escaped text, linked to
// its live neighbours (merged-away symbols get len 0).
struct Symbol {
  uint32_t off = 0, len = 0;
  int32_t prev = -1, next = -1;
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t len;  // byte length at push time; stale entries no longer match
};

// Max-heap order: higher score first, then the leftmost pair.
struct BigramLess {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(SpmVocab vocab) : v_(std::move(vocab)) {
  const size_t n = v_.tokens.size();
  if (n == 0) fail("tokenizer", "SentencePiece vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer", "vocabulary too large");
  if (v_.scores.empty()) v_.scores.assign(n, 0.0f);
  if (v_.scores.size() != n)
    fail("tokenizer", "scores has " + std::to_string(v_.scores.size()) + " entries for " + std::to_string(n) + " tokens");
  set_tokens(std::move(v_.tokens), std::move(v_.types));
  auto check_id = [&](int32_t& id, const char* what) {
    if (id >= static_cast<int32_t>(n)) fail("tokenizer", std::string(what) + " id " + std::to_string(id) + " is out of range");
    if (id < 0) id = -1;
  };
  check_id(v_.bos, "bos");
  check_id(v_.eos, "eos");
  check_id(v_.unk, "unknown");

  for (int b = 0; b < 256; ++b) {
    static const char* kHex = "0123456789ABCDEF";
    std::string name = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    int32_t id = lookup(name);
    if (id < 0) id = lookup(std::string(1, static_cast<char>(b)));  // vocabularies that store raw bytes
    byte_ids_[b] = id;
  }
}

void SpmTokenizer::encode_piece(const std::string& text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    size_t len = std::min(utf8_seq_len(static_cast<uint8_t>(text[off])), text.size() - off);
    Symbol s;
    s.off = static_cast<uint32_t>(off);
    s.len = static_cast<uint32_t>(len);
    s.prev = static_cast<int32_t>(syms.size()) - 1;
    off += len;
    s.next = off == text.size() ? -1 : static_cast<int32_t>(syms.size()) + 1;
    syms.push_back(s);
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue;
  std::string scratch;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    uint32_t len = syms[left].len + syms[right].len;
    scratch.assign(text, syms[left].off, len);
    int32_t id = lookup(scratch);
    if (id < 0) return;
    queue.push({v_.scores[id], left, right, len});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) try_pair(i - 1, i);

  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[b.left];
    Symbol& r = syms[b.right];
    // Skip pairs made stale by an earlier merge of either side.
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len || l.next != b.right) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }

  for (int32_t i = 0; i != -1; i = syms[i].next) {
    const Symbol& s = syms[i];
    scratch.assign(text, s.off, s.len);
    if (int32_t id = lookup(scratch); id >= 0) {
      out.push_back(id);
      continue;
    }
    // Not a piece: spell it in bytes (byte fallback), or unk without byte tokens.
    for (uint32_t k = 0; k < s.len; ++k) {
      int32_t id = byte_ids_[static_cast<uint8_t>(text[s.off + k])];
      if (id < 0) id = v_.unk;
      if (id < 0) fail("tokenizer", "text has a character the vocabulary cannot spell (no byte or unknown token)");
      out.push_back(id);
    }
  }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special && v_.add_bos && v_.bos >= 0) out.push_back(v_.bos);
  // The space prefix goes before the text and again after each special
  // token written in it, as SentencePiece sees each stretch as a new start.
  bool after_special = true;
  for (const TextPiece& p : split_special(text)) {
    if (p.token >= 0) {
      out.push_back(p.token);
      after_special = true;
      continue;
    }
    std::string raw;
    if (v_.add_space_prefix && after_special) raw = " ";
    raw += p.text;
    encode_piece(escape_spaces(raw), out);
    after_special = false;
  }
  if (add_special && v_.add_eos && v_.eos >= 0) out.push_back(v_.eos);
  return out;
}

std::string SpmTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    check_decode_id(id);
    TokenType t = type(id);
    const std::string& piece_text = text(id);
    if (t == TokenType::Control || t == TokenType::Unknown) {
      if (skip_special) continue;
      out += piece_text;
    } else if (t == TokenType::Byte) {
      int b = parse_byte_token(piece_text);
      if (b >= 0)
        out += static_cast<char>(b);
      else
        out += piece_text;
    } else {
      std::string piece = unescape_spaces(piece_text);
      // Undo the space prefix encode() added: only on the first piece shown.
      if (first && v_.add_space_prefix && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      out += piece;
    }
    first = false;
  }
  return out;
}

std::string SpmTokenizer::summary() const {
  return "llama (SentencePiece BPE), " + std::to_string(vocab_size()) + " tokens, bos " + std::to_string(v_.bos) +
         ", eos " + std::to_string(v_.eos);
}

}  // namespace peft
