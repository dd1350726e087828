// Pre-tokenization by regular expression (PCRE2, UTF + Unicode properties):
// the text is cut into the regex's matches, and any stretch no match covers
// (possible only for invalid UTF-8) becomes a piece of its own, so the
// pieces always concatenate back to the input.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace peft {

class RegexSplitter {
 public:
  // Throws "[tokenizer] ..." when the pattern does not compile.
  explicit RegexSplitter(const std::string& pattern);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Thread-safe: each call uses its own match data.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Several regexes run in order, as byte-level BPE pre-tokenizers use them:
// each cuts every piece the one before left into its matches and the
// stretches between them; lookarounds see only the piece they run on.
class RegexSequenceSplitter {
 public:
  // `patterns` in Oniguruma spelling (tokenizer.json's); see to_pcre2().
  explicit RegexSequenceSplitter(const std::vector<std::string>& patterns);
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  std::vector<std::unique_ptr<RegexSplitter>> stages_;
};

}  // namespace peft
