#include "tokenizer/bpe_pre_tokenizer.h"

#include <cstdio>
#include <cstdlib>

#include "tokenizer/utf8.h"

namespace peft {

namespace {

// The split patterns several entries share. Sources: the pre_tokenizer of
// the models' tokenizer.json files as llama.cpp's src/llama-vocab.cpp quotes
// them ("original regex from tokenizer.json"), or llama.cpp's own list
// where it gives no original.

// GPT-2: contractions, letters, digits, other symbols (each optionally after
// one space), white space not before a non-space, other white space.
const char* const kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama 3: case-insensitive contractions, a word with at most one leading
// non-letter non-digit (not a line break), digits in groups of at most
// three, symbols with the line breaks after them, line breaks with the
// white space before them, then as GPT-2.
const char* const kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen 2: as Llama 3 but every digit alone.
const char* const kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-4o (o200k): words split at lower-to-upper case changes, each with its
// contraction; digits in groups of at most three; '/' joins the symbols.
const char* const kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// BLOOM: a word is an optional space and a run of anything but white space,
// the listed punctuation and the characters ( | ).
const char* const kBloom = R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{ff0c}\x{3001}\x{964}\x{6d4}\x{60c})]+)";

// Han ideographs (U+4E00..U+9FA5), U+0800..U+4E00 and Hangul, as DeepSeek's
// first tokenizers keep them together.
const char* const kDeepseekCjk = R"([\x{4e00}-\x{9fa5}\x{800}-\x{4e00}\x{ac00}-\x{d7ff}]+)";

// Han ideographs, Hiragana and Katakana (DeepSeek V3).
const char* const kHanKana = R"([\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}]+)";

// DeepSeek V3's word pattern: an ASCII symbol glued to ASCII letters, a
// word of letters and marks with at most one leading character that is no
// letter, punctuation or symbol, symbol runs, line breaks, white space.
const char* const kDeepseekV3Words =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek LLM's letters: the cased letters of a list of scripts, written
// out as ranges (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee,
// letterlike symbols, Glagolitic, Coptic, full-width Latin, Deseret, Osage,
// Old Hungarian, Warang Citi, Adlam).
const char* const kDeepseekLetters =
    R"(\s?[A-Za-z\x{b5}\x{c0}-\x{d6}\x{d8}-\x{f6}\x{f8}-\x{1ba}\x{1bc}-\x{1bf}\x{1c4}-\x{293}\x{295}-\x{2af})"
    R"(\x{370}-\x{373}\x{376}\x{377}\x{37b}-\x{37d}\x{37f}\x{386}\x{388}-\x{38a}\x{38c}\x{38e}-\x{3a1})"
    R"(\x{3a3}-\x{3f5}\x{3f7}-\x{481}\x{48a}-\x{52f}\x{531}-\x{556}\x{10a0}-\x{10c5}\x{13a0}-\x{13f5})"
    R"(\x{13f8}-\x{13fd}\x{1c90}-\x{1cba}\x{1cbd}-\x{1cbf}\x{1d00}-\x{1d2b}\x{1d6b}-\x{1d77}\x{1d79}-\x{1d9a})"
    R"(\x{1e00}-\x{1f15}\x{1f18}-\x{1f1d}\x{1f20}-\x{1f45}\x{1f48}-\x{1f4d}\x{1f50}-\x{1f57}\x{1f59}\x{1f5b})"
    R"(\x{1f5d}\x{1f5f}-\x{1f7d}\x{1f80}-\x{1fb4}\x{1fb6}-\x{1fbc}\x{1fbe}\x{1fc2}-\x{1fc4}\x{1fc6}-\x{1fcc})"
    R"(\x{1fd0}-\x{1fd3}\x{1fd6}-\x{1fdb}\x{1fe0}-\x{1fec}\x{1ff2}-\x{1ff4}\x{1ff6}-\x{1ffc}\x{2102}\x{2107})"
    R"(\x{210a}-\x{2113}\x{2115}\x{2119}-\x{211d}\x{2124}\x{2126}\x{2128}\x{212a}-\x{212d}\x{212f}-\x{2134})"
    R"(\x{2139}\x{213c}-\x{213f}\x{2145}-\x{2149}\x{214e}\x{2183}\x{2184}\x{2c00}-\x{2c7b}\x{2c7e}-\x{2ce4})"
    R"(\x{2ceb}-\x{2cee}\x{2cf2}\x{2cf3}\x{a640}-\x{a66d}\x{a680}-\x{a69b}\x{a722}-\x{a76f}\x{a771}-\x{a787})"
    R"(\x{a78b}-\x{a78e}\x{ab70}-\x{abbf}\x{fb00}-\x{fb06}\x{fb13}-\x{fb17}\x{ff21}-\x{ff3a}\x{ff41}-\x{ff5a})"
    R"(\x{10400}-\x{1044f}\x{104b0}-\x{104d3}\x{104d8}-\x{104fb}\x{10c80}-\x{10cb2}\x{10cc0}-\x{10cf2})"
    R"(\x{118a0}-\x{118df}\x{1e900}-\x{1e943}]+)";

// DeepSeek LLM's symbols: ASCII and full-width punctuation, quotation marks,
// the ideographic space, comma and full stop.
const char* const kDeepseekSymbols =
    R"(\s?[!-/:-~\x{ff01}-\x{ff0f}\x{ff1a}-\x{ff5e}\x{2018}-\x{201f}\x{3000}-\x{3002}]+)";

std::vector<BpePreTokenizer> make_table() {
  std::vector<BpePreTokenizer> t;
  // {name, aliases, regexes, ignore_merges, add_bos, clean_spaces}
  t.push_back({"gpt-2",
               {"phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
                "modern-bert", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais"},
               {kGpt2}, false, false, true});
  t.push_back({"trillion", {"granite-docling"}, {kGpt2}, false, false, false});
  // llama.cpp's fallback for files without tokenizer.ggml.pre (GPT-NeoX
  // era): punctuation runs, GPT-2, digit runs, then groups of three digits.
  t.push_back({"default", {}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false, false, true});
  t.push_back({"llama-bpe",
               {"llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
               {kLlama3}, true, true, true});
  t.push_back({"dbrx", {"smaug-bpe", "chatglm-bpe", "glm4"}, {kLlama3}, false, false, true});
  t.push_back({"jais-2", {},
               {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
                R"(\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|)"
                R"(\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})"},
               false, false, true});
  t.push_back({"qwen2", {"deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"}, {kQwen2}, false,
               false, false});
  t.push_back({"stablelm2", {"megrez"}, {kQwen2}, false, false, true});
  t.push_back({"qwen35", {},
               {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|)"
                R"(\s*[\r\n]+|\s+(?!\S)|\s+)"},
               false, false, false});
  t.push_back({"deepseek-llm", {},
               {R"([\r\n])", kDeepseekLetters, kDeepseekSymbols, R"(\s+$)", kDeepseekCjk, R"(\p{N}+)"}, false, false,
               false});
  t.push_back({"deepseek-coder", {}, {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kDeepseekCjk, R"(\p{N})"}, false,
               false, false});
  t.push_back({"deepseek-v3", {"hunyuan-dense", "hy_v4", "joyai-llm"}, {R"(\p{N}{1,3})", kHanKana, kDeepseekV3Words},
               false, false, false});
  t.push_back({"spark2_5", {},
               {R"(\p{N}{1,3})", kHanKana,
                R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+)re",
                R"(\p{N})"},
               false, false, false});
  t.push_back({"youtu", {},
               {R"([\x{ac00}-\x{d7a3}\x{3131}-\x{318e}]+|)"
                R"([\x{ff01}\x{2026}\x{201c}\x{201d}\x{2018}\x{2019}\x{2014}\x{ff1a}\x{ff1b}\x{ff0c}\x{3001}-\x{303f}\x{fe30}-\x{fe4f}]+|)"
                R"([\x{3105}-\x{312f}]+|[\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}]+)",
                R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
                R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
                R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
               true, false, false});
  // Falcon: ASCII and Unicode punctuation runs first, then GPT-2, then
  // digit runs cut into threes.
  t.push_back({"falcon", {}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}, false, false, true});
  // Code models: every digit alone, then GPT-2.
  t.push_back({"starcoder", {"refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, {R"(\p{N})", kGpt2}, false,
               false, true});
  t.push_back({"command-r", {"smollm"}, {R"(\p{N})", kGpt2}, false, false, false});
  t.push_back({"bloom", {"gpt3-finnish"}, {kBloom}, false, false, true});
  t.push_back({"poro-chat", {}, {kBloom}, false, false, false});
  t.push_back({"viking", {}, {kBloom, R"(\p{N})"}, false, false, false});
  // Tekken (Mistral NeMo): as GPT-4o without contractions, digits alone.
  t.push_back({"tekken", {},
               {R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|)"
                R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|)"
                R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
               true, true, false});
  // Chameleon: its sentinel and image tokens, tabs, newlines and double or
  // quadruple spaces, single digits, single punctuation, then GPT-2.
  t.push_back({"chameleon", {},
               {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", R"(([\t\n]|    |  ))", R"(\p{N})",
                R"([\p{P}!-/:-@\[-`{-~])", kGpt2},
               false, true, false});
  t.push_back({"gpt-4o", {"llama4", "kanana2", "talkie", "minimax-m2"}, {kGpt4o}, false, false, false});
  t.push_back({"granite-embed-multi-97m", {}, {kGpt4o}, true, false, false});
  t.push_back({"tiny_aya", {"cohere2moe"}, {R"(\d{1,3}(?=(?:\d{3})*\b))", kGpt4o}, false, false, false});
  // SuperBPE: digit runs, cut so that the groups of three end the run; no
  // word split at all otherwise (its tokens span spaces).
  t.push_back({"superbpe", {}, {R"(\p{N}+)", R"((?=(\d{3})+(?!\d)))"}, false, false, false});
  // Ling (BailingMoE): Qwen 2's pattern with possessive quantifiers and one
  // line break at most after white space.
  t.push_back({"bailingmoe", {"bailingmoe2", "llada-moe"},
               {R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"},
               false, false, false});
  t.push_back({"seed-coder", {},
               {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"},
               false, false, false});
  // Qwen 2 without the contractions (Turkish suffixes after an apostrophe
  // stay with their word).
  t.push_back({"ufakzeka", {},
               {R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}, false, false,
               false});
  // AFMoE: digit runs cut into a leading group of one or two and then
  // threes (llama.cpp runs this as custom code), then Han, kana, Hangul,
  // Thai, Lao, Khmer, Myanmar, then DeepSeek V3's word pattern.
  t.push_back({"afmoe", {},
               {R"(\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N})))",
                R"([\x{4e00}-\x{9fff}\x{3400}-\x{4dbf}\x{f900}-\x{faff}\x{3040}-\x{309f}\x{30a0}-\x{30ff}\x{ff65}-\x{ff9f})"
                R"(\x{2f00}-\x{2fdf}\x{e00}-\x{e7f}\x{e80}-\x{eff}\x{1780}-\x{17ff}\x{1000}-\x{109f}\x{aa60}-\x{aa7f})"
                R"(\x{a9e0}-\x{a9ff}\x{ac00}-\x{d7af}\x{1100}-\x{11ff}]+)",
                kDeepseekV3Words},
               false, false, false});
  t.push_back({"laguna", {}, {R"([^\n]+|[\n]+)", kQwen2}, false, false, false});
  t.push_back({"exaone-moe", {},
               {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}|)"
                R"( ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)"},
               false, false, true});
  t.push_back({"minicpm5", {},
               {R"(\p{N}{1,3})",
                R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
               true, false, true});
  return t;
}

void append_hex_escape(std::string& out, uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%x}", cp);
  out += buf;
}

// Replaces every occurrence of `from` in `s` by `to`.
void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

}  // namespace

const std::vector<BpePreTokenizer>& bpe_pre_tokenizers() {
  static const std::vector<BpePreTokenizer> table = make_table();
  return table;
}

const BpePreTokenizer* find_bpe_pre_tokenizer(std::string_view name) {
  for (const BpePreTokenizer& p : bpe_pre_tokenizers()) {
    if (p.name == name) return &p;
    for (const std::string& a : p.aliases)
      if (a == name) return &p;
  }
  return nullptr;
}

bool is_unsupported_llama_cpp_pre(std::string_view name) {
  // Not byte-level: gemma4, sarvam-moe and granite-embed-multi-311m run BPE
  // over raw UTF-8 with SentencePiece's '▁' for spaces; "whitespace" splits
  // at white space only. kimi-k2 is a custom splitter over tiktoken ranks.
  for (const char* n : {"gemma4", "sarvam-moe", "granite-embed-multi-311m", "whitespace", "kimi-k2"})
    if (name == n) return true;
  return false;
}

std::string canonical_regex(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size();) {
    const unsigned char c = static_cast<unsigned char>(pattern[i]);
    if (c == '\\' && i + 2 < pattern.size() && pattern[i + 1] == 'x' && pattern[i + 2] == '{') {
      // \x{00B5} and \x{b5} are one character.
      const size_t close = pattern.find('}', i + 3);
      if (close != std::string_view::npos) {
        const std::string hex(pattern.substr(i + 3, close - i - 3));
        char* end = nullptr;
        const unsigned long cp = std::strtoul(hex.c_str(), &end, 16);
        if (!hex.empty() && end && *end == '\0') {
          append_hex_escape(out, static_cast<uint32_t>(cp));
          i = close + 1;
          continue;
        }
      }
    }
    if (c == '\\' && i + 1 < pattern.size()) {
      out.append(pattern, i, 2);
      i += 2;
      continue;
    }
    if (c == '\r' || c == '\n' || c == '\t') {  // a JSON "\n" arrives as the character itself
      out += c == '\r' ? "\\r" : c == '\n' ? "\\n" : "\\t";
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    append_hex_escape(out, utf8_next(pattern, i));
  }
  // llama.cpp's spelling of the case-insensitive contractions (its
  // std::regex has no (?i:...)), and GPT-2's pattern without the final
  // "|\s+" (which only ever matches what would be left between matches).
  replace_all(out, R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))", "(?i:'s|'t|'re|'ve|'m|'ll|'d)");
  if (out == R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))") out += R"(|\s+)";
  return out;
}

const BpePreTokenizer* recognise_bpe_pre_tokenizer(const std::vector<std::string>& regexes, bool ignore_merges) {
  std::vector<std::string> want;
  for (const std::string& r : regexes) want.push_back(canonical_regex(r));
  for (const BpePreTokenizer& p : bpe_pre_tokenizers()) {
    if (p.ignore_merges != ignore_merges || p.regexes.size() != want.size()) continue;
    bool same = true;
    for (size_t i = 0; i < want.size() && same; ++i) same = canonical_regex(p.regexes[i]) == want[i];
    if (same) return &p;
  }
  return nullptr;
}

std::string to_pcre2(std::string_view p) {
  // Oniguruma's \s is Unicode White_Space; PCRE2's (with UCP) is the same
  // set less U+0085 (NEXT LINE).
  static const std::string kSpace = R"(\s\x{85})";
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[++i];
      if (e == 's') {
        out += in_class ? kSpace : "[" + kSpace + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + kSpace + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' first in the class ("[]...]" or "[^]...]") is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace peft
