// The byte-level BPE pre-tokenizers GGUF names (bpe_pre_tokenizer.h): each
// table entry's regexes on hand-picked texts. The expected pieces were
// worked out by hand from llama.cpp's src/llama-vocab.cpp (the regex list of
// each pre type) and src/unicode.cpp (unicode_regex_split: every regex cuts
// every piece into matches and the text between them), following the
// regexes' alternatives left to right; the comment at each case says which
// alternative decides. Independently of that reading, the splits of 36 of
// these names were compared with llama.cpp's own llama-tokenize (build
// c392e50) on 42 texts through a GGUF holding the Llama 3 vocabulary, with
// no difference (see the report of issue 7).
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/gguf.h"
#include "test_util.h"
#include "tokenizer/bpe_pre_json.h"
#include "tokenizer/bpe_pre_tokenizer.h"
#include "tokenizer/load.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/tokenizer.h"

using namespace peft;
using Pieces = std::vector<std::string>;

namespace {

Pieces split(const std::string& pre, const std::string& text) {
  const BpePreTokenizer* p = find_bpe_pre_tokenizer(pre);
  if (!p) {
    ADD_FAILURE() << "no pre-tokenizer " << pre;
    return {};
  }
  RegexSequenceSplitter s(p->regexes);
  Pieces out;
  for (std::string_view v : s.split(text)) out.emplace_back(v);
  return out;
}

}  // namespace

TEST(BpePreTokenizer, Gpt2) {
  // "'s" is a contraction; " ?\p{L}+", " ?\p{N}+"; of two spaces before a
  // word, \s+(?!\S) takes the first and the second joins the word.
  EXPECT_EQ(split("gpt-2", "Hello world's 12345  x"), (Pieces{"Hello", " world", "'s", " 12345", " ", " x"}));
  // Contractions are case-sensitive: "'S" falls to the symbol branch.
  EXPECT_EQ(split("gpt-2", "IT'S"), (Pieces{"IT", "'", "S"}));
  // mpt, olmo and jais are names for the same list.
  EXPECT_EQ(find_bpe_pre_tokenizer("mpt"), find_bpe_pre_tokenizer("gpt-2"));
  EXPECT_EQ(find_bpe_pre_tokenizer("olmo"), find_bpe_pre_tokenizer("gpt-2"));
  EXPECT_EQ(split("trillion", "a  b"), (Pieces{"a", " ", " b"}));
}

TEST(BpePreTokenizer, Llama3) {
  // \p{N}{1,3}: digits in threes from the left.
  EXPECT_EQ(split("llama-bpe", "12345678"), (Pieces{"123", "456", "78"}));
  // (?i:'t): contractions in any case; the word takes no apostrophe.
  EXPECT_EQ(split("llama-bpe", "DON'T"), (Pieces{"DON", "'T"}));
  // \s*[\r\n]+ keeps the spaces before a line break with it; a word takes
  // one leading non-letter ([^\r\n\p{L}\p{N}]?\p{L}+).
  EXPECT_EQ(split("llama-bpe", "hello  \n world"), (Pieces{"hello", "  \n", " world"}));
  // " ?[^\s\p{L}\p{N}]+[\r\n]*": symbols take the line breaks after them.
  EXPECT_EQ(split("llama-bpe", "x!!\n\ny"), (Pieces{"x", "!!\n\n", "y"}));
  // "$x": the leading symbol joins the word.
  EXPECT_EQ(split("llama-bpe", "$x"), (Pieces{"$x"}));
  const BpePreTokenizer* p = find_bpe_pre_tokenizer("llama3");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "llama-bpe");
  EXPECT_TRUE(p->ignore_merges);  // llama.cpp sets ignore_merges and add_bos for LLAMA3
  EXPECT_TRUE(p->add_bos);
  // DBRX and Smaug use the same regex without ignore_merges.
  EXPECT_EQ(split("dbrx", "12345678"), (Pieces{"123", "456", "78"}));
  EXPECT_FALSE(find_bpe_pre_tokenizer("smaug-bpe")->ignore_merges);
  EXPECT_EQ(find_bpe_pre_tokenizer("falcon3"), p);
}

TEST(BpePreTokenizer, Qwen2AndRelatives) {
  // \p{N}: every digit alone; CJK letters are \p{L}, one word.
  EXPECT_EQ(split("qwen2", "12345"), (Pieces{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(split("qwen2", "你好世界"), (Pieces{"你好世界"}));
  // A combining mark is not \p{L}: qwen2 starts a new word at it, qwen35
  // ([\p{L}\p{M}]+) keeps it in the word.
  EXPECT_EQ(split("qwen2", "e\xCC\x81x"), (Pieces{"e", "\xCC\x81x"}));
  EXPECT_EQ(split("qwen35", "e\xCC\x81x"), (Pieces{"e\xCC\x81x"}));
  // ufakzeka has no contraction branch: "'da" is a word with a leading
  // apostrophe, where qwen2 cuts "'d" off.
  EXPECT_EQ(split("ufakzeka", "Ankara'da"), (Pieces{"Ankara", "'da"}));
  EXPECT_EQ(split("qwen2", "Ankara'da"), (Pieces{"Ankara", "'d", "a"}));
  // seed-coder's symbols take no line break ([^\s\p{L}\p{N}\r\n]+).
  EXPECT_EQ(split("seed-coder", "!!\n"), (Pieces{"!!", "\n"}));
  // bailingmoe: "\s*[\r\n]" ends at one line break, but \s* may hold others.
  EXPECT_EQ(split("bailingmoe", "it's 12"), (Pieces{"it", "'s", " ", "1", "2"}));
  EXPECT_EQ(split("bailingmoe", "a \n\nb"), (Pieces{"a", " \n\n", "b"}));
  // laguna: lines and line-break runs first, then qwen2.
  EXPECT_EQ(split("laguna", "ab\n\ncd 12"), (Pieces{"ab", "\n\n", "cd", " ", "1", "2"}));
  // minicpm5: digit threes first.
  EXPECT_EQ(split("minicpm5", "1234567 ab"), (Pieces{"123", "456", "7", " ab"}));
}

TEST(BpePreTokenizer, JaisTwoCascadesWhiteSpace) {
  // Six spaces before a word: \s{4}(?!\S) takes four, \s{1,2}(?!\S) one
  // (two would be followed by "b"), the last joins the word. Llama 3's
  // \s+(?!\S) takes five.
  EXPECT_EQ(split("jais-2", "a      b"), (Pieces{"a", "    ", " ", " b"}));
  EXPECT_EQ(split("llama-bpe", "a      b"), (Pieces{"a", "     ", " b"}));
}

TEST(BpePreTokenizer, DeepSeek) {
  // deepseek-coder: [\r\n] alone, then "\s?\p{L}+", "\s?\p{P}+", CJK, and
  // single digits; the space before digits stays alone.
  EXPECT_EQ(split("deepseek-coder", "abc 123\nxyz"), (Pieces{"abc", " ", "1", "2", "3", "\n", "xyz"}));
  // deepseek-llm: Latin letters, then ASCII punctuation ("!-/" holds ','
  // and '!'), then "\s+$", CJK runs and digit runs.
  EXPECT_EQ(split("deepseek-llm", "Hello, \xE4\xB8\x96\xE7\x95\x8C 123!"),
            (Pieces{"Hello", ",", " ", "\xE4\xB8\x96\xE7\x95\x8C", " ", "123", "!"}));
  // deepseek-v3: digit threes, Han/kana runs, then words, symbols.
  EXPECT_EQ(split("deepseek-v3", "x=12345 \xE6\x97\xA5\xE6\x9C\xAC"),
            (Pieces{"x", "=", "123", "45", " ", "\xE6\x97\xA5\xE6\x9C\xAC"}));
  // An ASCII symbol glued to ASCII letters is one piece.
  EXPECT_EQ(split("deepseek-v3", "a.bc"), (Pieces{"a", ".bc"}));
}

TEST(BpePreTokenizer, DigitAndPunctuationFirst) {
  // falcon: punctuation runs (with $+<=>^~|`), GPT-2, then [0-9]{3}.
  EXPECT_EQ(split("falcon", "a+b<=c 1234567"), (Pieces{"a", "+", "b", "<=", "c", " ", "123", "456", "7"}));
  // default: as falcon without '`', plus \p{N}+ before the threes.
  EXPECT_EQ(split("default", "a$b 12345"), (Pieces{"a", "$", "b", " ", "123", "45"}));
  // starcoder (and refact, command-r, smollm, ...): single digits first.
  EXPECT_EQ(split("starcoder", "x 42"), (Pieces{"x", " ", "4", "2"}));
  EXPECT_EQ(split("command-r", "x 42"), (Pieces{"x", " ", "4", "2"}));
  EXPECT_EQ(find_bpe_pre_tokenizer("refact"), find_bpe_pre_tokenizer("starcoder"));
  // superbpe: only digit runs are cut, into a head and threes; words and
  // spaces stay together.
  EXPECT_EQ(split("superbpe", "ab 1234567 cd"), (Pieces{"ab ", "1", "234", "567", " cd"}));
  // afmoe: the same digit grouping, then DeepSeek V3's words.
  EXPECT_EQ(split("afmoe", "x1234567"), (Pieces{"x", "1", "234", "567"}));
  // tiny_aya: \d{1,3}(?=(?:\d{3})*\b) gives the same grouping.
  EXPECT_EQ(split("tiny_aya", "1234567 x"), (Pieces{"1", "234", "567", " x"}));
}

TEST(BpePreTokenizer, BloomFamily) {
  // " ?[^(\s|.,!?…。，、।۔،)]+": runs of anything but white space, the listed
  // punctuation and ( | ); what is left between becomes pieces too.
  EXPECT_EQ(split("bloom", "Hello, world! (x|y)"), (Pieces{"Hello", ",", " world", "! (", "x", "|", "y", ")"}));
  EXPECT_EQ(split("gpt3-finnish", "a,b"), (Pieces{"a", ",", "b"}));
  EXPECT_EQ(split("poro-chat", "a,b"), (Pieces{"a", ",", "b"}));
  // viking: then single digits.
  EXPECT_EQ(split("viking", "ab12"), (Pieces{"ab", "1", "2"}));
}

TEST(BpePreTokenizer, CaseAwareWords) {
  // tekken: a word is upper-case letters then lower-case ones; a digit alone.
  EXPECT_EQ(split("tekken", "HelloWorld iPhone 123"),
            (Pieces{"Hello", "World", " i", "Phone", " ", "1", "2", "3"}));
  // gpt-4o: "I" then the contraction; an upper-case run followed by
  // lower-case letters is one word; digit threes.
  EXPECT_EQ(split("gpt-4o", "I'm HELLOworld 12345"), (Pieces{"I'm", " HELLOworld", " ", "123", "45"}));
  EXPECT_EQ(find_bpe_pre_tokenizer("llama4"), find_bpe_pre_tokenizer("gpt-4o"));
  // exaone-moe: letters joined by single spaces are one word.
  EXPECT_EQ(split("exaone-moe", "New York 5"), (Pieces{"New York", " ", "5"}));
}

TEST(BpePreTokenizer, Chameleon) {
  // The sentinel is cut up by the digit and punctuation steps (llama.cpp
  // notes special tokens are matched before pre-tokenization anyway); image
  // tokens stay whole; two spaces are a piece.
  EXPECT_EQ(split("chameleon", "<sentinel:3>IMGIMGABZ  x1."),
            (Pieces{"<", "sentinel", ":", "3", ">", "IMGIMGABZ", "  ", "x", "1", "."}));
}

TEST(BpePreTokenizer, CjkScriptsFirst) {
  // youtu: Hangul runs first.
  EXPECT_EQ(split("youtu", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4" "abc"),
            (Pieces{"\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4", "abc"}));
  // spark2_5: a line break alone ([\r\n]).
  EXPECT_EQ(split("spark2_5", "ab\n\ncd"), (Pieces{"ab", "\n", "\n", "cd"}));
}

TEST(BpePreTokenizer, NextLineIsWhiteSpace) {
  // U+0085 is white space for llama.cpp and Oniguruma (PCRE2's \s leaves it
  // out; to_pcre2 adds it back). " " NEL "x": of the white-space run before
  // "x", \s+(?!\S) takes the space, \s+ the NEL. Were NEL not white space,
  // " ?[^\s\p{L}\p{N}]+" would take space and NEL together.
  EXPECT_EQ(split("gpt-2", " \xC2\x85x"), (Pieces{" ", "\xC2\x85", "x"}));
  EXPECT_EQ(to_pcre2(R"([^\s\p{L}]|\s+(?!\S))"), R"([^\s\x{85}\p{L}]|[\s\x{85}]+(?![^\s\x{85}]))");
}

TEST(BpePreTokenizer, EveryEntryCompilesAndNamesAreUnique) {
  std::vector<std::string> seen;
  for (const BpePreTokenizer& p : bpe_pre_tokenizers()) {
    EXPECT_NO_THROW(RegexSequenceSplitter s(p.regexes)) << p.name;
    for (const std::string& n : [&] {
           std::vector<std::string> all{p.name};
           all.insert(all.end(), p.aliases.begin(), p.aliases.end());
           return all;
         }()) {
      EXPECT_EQ(std::count(seen.begin(), seen.end(), n), 0) << n << " listed twice";
      seen.push_back(n);
      EXPECT_FALSE(is_unsupported_llama_cpp_pre(n)) << n;
    }
  }
  // The names issue 7 lists, all present.
  for (const char* n : {"llama3", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon",
                        "falcon3", "mpt", "starcoder", "refact", "default", "command-r", "olmo", "dbrx", "smaug-bpe",
                        "poro-chat", "chatglm-bpe", "viking", "jais", "tekken", "smollm", "codeshell", "bloom",
                        "gpt3-finnish", "exaone", "chameleon", "minerva-7b", "gpt-4o", "superbpe", "trillion",
                        "bailingmoe", "gpt-2"})
    EXPECT_NE(find_bpe_pre_tokenizer(n), nullptr) << n;
  EXPECT_EQ(find_bpe_pre_tokenizer("gpt-neox"), nullptr);  // llama.cpp has no such name either
  EXPECT_EQ(find_bpe_pre_tokenizer("no-such-pre"), nullptr);
}

TEST(BpePreTokenizer, EveryEntryIsRecognisedFromItsTokenizerJson) {
  for (const BpePreTokenizer& p : bpe_pre_tokenizers()) {
    const nlohmann::json j = nlohmann::json::parse(bpe_pre_tokenizer_json(p).dump());
    std::string why;
    const BpePreTokenizer* back = bpe_pre_tokenizer_from_json(j, p.ignore_merges, &why);
    ASSERT_NE(back, nullptr) << p.name << ": " << why;
    // Entries that differ only in decoding flags share their regexes; the
    // first of them is named.
    EXPECT_EQ(back->regexes, p.regexes) << p.name;
    EXPECT_EQ(back->ignore_merges, p.ignore_merges) << p.name;
  }
  // Spellings: literal characters and llama.cpp's contraction group.
  std::string why;
  const nlohmann::json llama_cpp_style = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern",
          {{"Regex", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
                     " ?[^\\s\\p{L}\\p{N}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  const BpePreTokenizer* q = bpe_pre_tokenizer_from_json(llama_cpp_style, false, &why);
  ASSERT_NE(q, nullptr) << why;
  EXPECT_EQ(q->name, "qwen2");
  // Falcon's layout: Punctuation, ByteLevel with its regex, Digits, threes.
  const nlohmann::json falcon = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Punctuation"}, {"behavior", "Contiguous"}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}},
        {{"type", "Digits"}, {"individual_digits", false}},
        {{"type", "Split"}, {"pattern", {{"Regex", "[0-9][0-9][0-9]"}}}, {"behavior", "Isolated"}, {"invert", false}}}}};
  const BpePreTokenizer* f = bpe_pre_tokenizer_from_json(falcon, false, &why);
  ASSERT_NE(f, nullptr) << why;
  EXPECT_EQ(f->name, "falcon");
  // StarCoder's: single digits, then ByteLevel with its regex.
  const nlohmann::json starcoder = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Digits"}, {"individual_digits", true}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}}};
  const BpePreTokenizer* s = bpe_pre_tokenizer_from_json(starcoder, false, &why);
  ASSERT_NE(s, nullptr) << why;
  EXPECT_EQ(s->name, "starcoder");
}

TEST(BpePreTokenizer, UnnamedTokenizerJsonIsRefusedWithTheReason) {
  std::string why;
  const nlohmann::json other = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", "\\p{L}+|\\p{N}{1,4}"}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  EXPECT_EQ(bpe_pre_tokenizer_from_json(other, false, &why), nullptr);
  EXPECT_NE(why.find("none of the byte-level pre-tokenizers llama.cpp names"), std::string::npos) << why;
  // Llama 3's regex without ignore_merges is DBRX; with it, Llama 3; Qwen 2's
  // regex with ignore_merges is nothing llama.cpp names.
  const nlohmann::json qwen = nlohmann::json::parse(bpe_pre_tokenizer_json(*find_bpe_pre_tokenizer("qwen2")).dump());
  EXPECT_EQ(bpe_pre_tokenizer_from_json(qwen, true, &why), nullptr);
  const nlohmann::json prefix = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(bpe_pre_tokenizer_from_json(prefix, false, &why), nullptr);
  EXPECT_NE(why.find("add_prefix_space"), std::string::npos) << why;
  const nlohmann::json metaspace = {{"type", "Metaspace"}};
  EXPECT_EQ(bpe_pre_tokenizer_from_json(metaspace, false, &why), nullptr);
  EXPECT_NE(why.find("Metaspace"), std::string::npos) << why;
}

TEST(BpePreTokenizer, GgufLoaderNamesAnUnknownValue) {
  auto ref = GgufFile::open(test::shared_path("tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf"));
  auto write_with_pre = [&](const char* pre) {
    GgufWriter w;
    for (const std::string& k : ref->keys())
      if (k != "tokenizer.ggml.pre") w.set(k, ref->get(k));
    if (pre) w.set("tokenizer.ggml.pre", GgufValue::string(pre));
    const std::string path = test::temp_dir("pretok_unknown") + "/vocab.gguf";
    w.write(path);
    return path;
  };
  try {
    load_tokenizer(write_with_pre("no-such-pre"));
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown BPE pre-tokenizer 'no-such-pre'"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  try {
    load_tokenizer(write_with_pre("gemma4"));
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'gemma4'"), std::string::npos) << e.what();
  }
  // No tokenizer.ggml.pre: llama.cpp's "default" (punctuation runs cut off).
  auto tok = load_tokenizer(write_with_pre(nullptr));
  EXPECT_NE(tok->summary().find("pre-tokenizer default"), std::string::npos) << tok->summary();
  auto gpt2 = load_tokenizer(write_with_pre("gpt-2"));
  // "a ,b": default cuts the comma off before GPT-2 joins it to the space.
  EXPECT_NE(tok->encode("a ,b", false), gpt2->encode("a ,b", false));
}
