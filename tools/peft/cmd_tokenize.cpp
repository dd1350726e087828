// `peft tokenize` and `peft detokenize`: look at what a tokenizer does with a
// text, or turn ids back into text.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "tokenizer/encode_settings.h"
#include "tokenizer/load.h"

namespace peft::cli {

namespace {

std::string read_whole_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("tokenize", path + ": cannot open");
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) fail("tokenize", path + ": read error");
  return out;
}

// "1 2 3", "1,2,3" or "[1, 2, 3]".
std::vector<int32_t> parse_ids(const std::string& s) {
  std::string clean = s;
  for (char& c : clean)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream in(clean);
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || v < 0 || v > INT32_MAX) fail("detokenize", "'" + word + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

void write_out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

}  // namespace

std::function<int()> setup_tokenize(CLI::App& app) {
  struct Opts {
    std::string tokenizer, text, file, pair;
    bool no_special = false, json = false, offsets = false, char_offsets = false;
    EncodeSettings settings;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--tokenizer", o->tokenizer, std::string("The tokenizer: ") + kTokenizerInput)
      ->required()
      ->check(CLI::ExistingPath);
  auto* text = app.add_option("--text", o->text, "Text to tokenize");
  auto* file = app.add_option("--file", o->file, "File whose bytes to tokenize")->check(CLI::ExistingFile);
  text->excludes(file);
  auto* pair = app.add_option("--pair", o->pair, "Second text of a pair (gets type id 1, as for cross-encoders)");
  app.add_flag("--no-special", o->no_special, "Do not add BOS/EOS or other special tokens");
  app.add_flag("--encode-special-tokens", o->settings.encode_special_tokens,
               "Treat special tokens written in the text ([SEP], <|endoftext|>) as plain text");
  app.add_option("--max-length", o->settings.max_length, "Truncate to N tokens, special tokens included (default: the tokenizer.json's truncation, else none)");
  app.add_option("--truncation", o->settings.truncation, "Strategy: longest_first, only_first, only_second or none (default: longest_first, or the file's)");
  app.add_option("--stride", o->settings.stride, "Overlap of overflowing windows (checked only: windows are not printed) (default: 0)");
  app.add_option("--truncation-side", o->settings.truncation_side, "Which end loses tokens: left or right (default: right)");
  app.add_option("--padding", o->settings.padding, "Pad to: none, longest, max_length (to --max-length) or a length N (default: the tokenizer.json's padding, else none)");
  app.add_option("--pad-to-multiple-of", o->settings.pad_to_multiple_of, "Round the padded length up to a multiple of N (default: none)");
  app.add_option("--padding-side", o->settings.padding_side, "Which end gets the padding: left or right (default: right)");
  app.add_option("--pad-id", o->settings.pad_id, "Token id to pad with (default: the file's, else 0)");
  app.add_flag("--offsets", o->offsets, "Also print each token's byte offsets [begin, end) into its text (tokenizer.json only)");
  app.add_flag("--char-offsets", o->char_offsets, "Offsets in characters (code points) instead of bytes, as HF's Python/JS report them");
  app.add_flag("--json", o->json,
               "Print {\"ids\", \"tokens\", \"type_ids\", \"attention_mask\", \"special_tokens_mask\"} (and \"offsets\" with --offsets)");
  return [o, text, file, pair]() {
    if (!*text && !*file) fail("tokenize", "give --text or --file");
    std::string input = *file ? read_whole_file(o->file) : o->text;
    auto tok = load_tokenizer(o->tokenizer);
    o->settings.add_special = !o->no_special;
    const EncodeOptions opts = make_encode_options(o->settings, *tok);
    const bool offsets = o->offsets || o->char_offsets;
    if (offsets && !tok->has_offsets()) fail("tokenizer", "offsets are only available for tokenizer.json tokenizers");
    std::optional<std::string_view> second;
    if (*pair) second = o->pair;
    const Encoding e = encode(*tok, input, second, opts);
    std::vector<TokenOffset> offs = e.offsets;
    if (o->char_offsets) {
      const std::vector<TokenOffset> a = char_offsets(input, e.offsets);
      const std::vector<TokenOffset> b = char_offsets(o->pair, e.offsets);
      for (size_t i = 0; i < offs.size(); ++i) offs[i] = e.sequence_ids[i] == 1 ? b[i] : e.sequence_ids[i] == 0 ? a[i] : offs[i];
    }
    if (o->json) {
      nlohmann::json j;
      j["ids"] = e.ids;
      j["tokens"] = nlohmann::json::array();
      for (int32_t id : e.ids) j["tokens"].push_back(tok->token_text(id));
      j["type_ids"] = e.type_ids;
      j["attention_mask"] = e.attention_mask;
      j["special_tokens_mask"] = e.special_tokens_mask;
      if (offsets) {
        j["offsets"] = nlohmann::json::array();
        for (const TokenOffset& t : offs) j["offsets"].push_back({t.begin, t.end});
      }
      // Byte-level pieces can be partial UTF-8: replace rather than throw.
      write_out(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    } else if (offsets) {
      // One token a line: id, type id, attention, begin, end, token text.
      std::string out;
      for (size_t i = 0; i < e.ids.size(); ++i) {
        out += std::to_string(e.ids[i]) + "\t" + std::to_string(e.type_ids[i]) + "\t" +
               std::to_string(e.attention_mask[i]) + "\t" + std::to_string(offs[i].begin) + "\t" +
               std::to_string(offs[i].end) + "\t" + tok->token_text(e.ids[i]) + "\n";
      }
      write_out(out);
    } else {
      std::string line;
      for (size_t i = 0; i < e.ids.size(); ++i) line += (i ? " " : "") + std::to_string(e.ids[i]);
      write_out(line + "\n");
    }
    return 0;
  };
}

std::function<int()> setup_detokenize(CLI::App& app) {
  struct Opts {
    std::string tokenizer, ids;
    bool keep_special = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--tokenizer", o->tokenizer, std::string("The tokenizer: ") + kTokenizerInput)
      ->required()
      ->check(CLI::ExistingPath);
  app.add_option("--ids", o->ids, "Token ids, e.g. \"1 2 3\", \"1,2,3\" or \"[1, 2, 3]\"")->required();
  app.add_flag("--keep-special", o->keep_special, "Print special tokens (BOS, EOS, ...) as text");
  return [o]() {
    std::vector<int32_t> ids = parse_ids(o->ids);
    auto tok = load_tokenizer(o->tokenizer);
    write_out(tok->decode(ids, !o->keep_special));
    return 0;
  };
}

PEFT_COMMAND("tokenize", "Print the token ids of a text", setup_tokenize);
PEFT_COMMAND("detokenize", "Print the text of token ids", setup_detokenize);

}  // namespace peft::cli
