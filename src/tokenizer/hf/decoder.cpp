#include "tokenizer/hf/decoder.h"

#include "tokenizer/hf/byte_level.h"
#include "tokenizer/hf/pattern.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

std::string cleanup_spaces(std::string s, bool with_do_not) {
  auto rep = [&](std::string_view from, std::string_view to) {
    s = Pattern::literal(std::string(from)).replace_all(s, to);
  };
  rep(" .", ".");
  rep(" ?", "?");
  rep(" !", "!");
  rep(" ,", ",");
  rep(" ' ", "'");
  rep(" n't", "n't");
  rep(" 'm", "'m");
  if (with_do_not) rep(" do not", " don't");
  rep(" 's", "'s");
  rep(" 've", "'ve");
  rep(" 're", "'re");
  return s;
}

namespace {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

// Byte-level characters back to bytes over the whole sequence, then invalid
// UTF-8 replaced by U+FFFD. A token with a character outside the byte table
// (an added token, say) is taken as its own UTF-8 bytes.
class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      const size_t mark = bytes.size();
      if (!chars_to_bytes(t, bytes)) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, sanitize_utf8(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      // As in HF, every replacement in the first token is dropped (not only
      // the leading one) when a prefix space was added at encode time.
      tokens[i] = Pattern::literal(replacement_).replace_all(tokens[i], i == 0 && strip_first_ ? "" : " ");
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t = " " + t;
      }
      if (cleanup_) t = cleanup_spaces(std::move(t), true);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// Runs of <0xHH> tokens become the UTF-8 text they spell, or one U+FFFD
// per byte when the run is not valid UTF-8.
class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;
    size_t run_len = 0;
    auto flush = [&] {
      if (run_len == 0) return;
      if (sanitize_utf8(run) == run) {
        out.push_back(run);
      } else {
        for (size_t k = 0; k < run_len; ++k) out.push_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_len = 0;
    };
    for (std::string& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = hex_byte(t[3], t[4]);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        ++run_len;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int hex_byte(char hi, char lo) {
    const int h = hex_digit(hi), l = hex_digit(lo);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character
// from every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(uint32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      size_t begin = 0;
      for (size_t k = 0; k < start_ && begin < t.size(); ++k) {
        size_t i = begin;
        if (next_cp(t, i) != content_) break;
        begin = i;
      }
      size_t end = t.size();
      for (size_t k = 0; k < stop_ && end > begin; ++k) {
        size_t b = end - 1;
        while (b > begin && (static_cast<uint8_t>(t[b]) & 0xC0) == 0x80) --b;
        size_t i = b;
        if (next_cp(t, i) != content_) break;
        end = b;
      }
      t = t.substr(begin, end - begin);
    }
  }

 private:
  uint32_t content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// The old BPE decoder: the end-of-word suffix becomes a space (nothing on
// the last token).
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = Pattern::literal(suffix_).replace_all(tokens[i], i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

// CTC output: repeated tokens collapse, pads vanish, the word delimiter is a
// space.
class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && tokens[i] == tokens[i - 1]) continue;
      if (tokens[i] == pad_) continue;
      std::string t = cleanup_ ? cleanup_spaces(tokens[i], true) : tokens[i];
      t = Pattern::literal(delimiter_).replace_all(t, " ");
      if (!t.empty()) out.push_back(std::move(t));
    }
    tokens.swap(out);
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

uint32_t single_char(const std::string& s, const std::string& at) {
  if (s.empty() || cp_count(s) != 1) bad_format(at + ": expected a single character, got '" + s + "'");
  size_t i = 0;
  return next_cp(s, i);
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& j) {
  if (j.is_null()) return nullptr;
  const std::string where = "decoder";
  const std::string type = type_of(j, where);
  const std::string at = where + " " + type;
  if (type == "Sequence") {
    const NestingGuard guard(at);
    const Json& list = require(j, "decoders", at);
    if (!list.is_array()) bad_format(at + ": \"decoders\" is not an array");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const Json& item : list) {
      auto d = make_decoder(item);
      if (d) parts.push_back(std::move(d));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    const std::string replacement = opt_string(j, "replacement", "\xE2\x96\x81", at);
    single_char(replacement, at);
    bool strip_first = true;
    if (j.contains("prepend_scheme") && !j.at("prepend_scheme").is_null()) {
      strip_first = require_string(j, "prepend_scheme", at) != "never";
    } else {
      strip_first = opt_bool(j, "add_prefix_space", true, at);
    }
    return std::make_unique<MetaspaceDecoder>(replacement, strip_first);
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(opt_string(j, "prefix", "##", at), opt_bool(j, "cleanup", true, at));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const uint32_t c = single_char(require_string(j, "content", at), at);
    const int64_t start = opt_int(j, "start", 0, at);
    const int64_t stop = opt_int(j, "stop", 0, at);
    if (start < 0 || stop < 0) bad_format(at + ": negative start or stop");
    return std::make_unique<StripDecoder>(c, static_cast<size_t>(start), static_cast<size_t>(stop));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(Pattern::from_json(require(j, "pattern", at), at),
                                            require_string(j, "content", at));
  }
  if (type == "BPEDecoder") return std::make_unique<BpeSuffixDecoder>(opt_string(j, "suffix", "</w>", at));
  if (type == "CTC") {
    return std::make_unique<CtcDecoder>(opt_string(j, "pad_token", "<pad>", at),
                                        opt_string(j, "word_delimiter_token", "|", at),
                                        opt_bool(j, "cleanup", true, at));
  }
  bad_format("unknown decoder type '" + type + "'");
}

}  // namespace peft::hf
