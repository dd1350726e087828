// `peft tokenize` and `peft detokenize`: look at what a tokenizer does with a
// text, or turn ids back into text.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "common.h"
#include "core/error.h"
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
    std::string tokenizer, text, file;
    bool no_special = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--tokenizer", o->tokenizer, std::string("The tokenizer: ") + kTokenizerInput)
      ->required()
      ->check(CLI::ExistingPath);
  auto* text = app.add_option("--text", o->text, "Text to tokenize");
  auto* file = app.add_option("--file", o->file, "File whose bytes to tokenize")->check(CLI::ExistingFile);
  text->excludes(file);
  app.add_flag("--no-special", o->no_special, "Do not add BOS/EOS or other special tokens");
  app.add_flag("--json", o->json, "Print {\"ids\": [...], \"tokens\": [...]}");
  return [o, text, file]() {
    if (!*text && !*file) fail("tokenize", "give --text or --file");
    std::string input = *file ? read_whole_file(o->file) : o->text;
    auto tok = load_tokenizer(o->tokenizer);
    std::vector<int32_t> ids = tok->encode(input, !o->no_special);
    if (o->json) {
      nlohmann::json j;
      j["ids"] = ids;
      j["tokens"] = nlohmann::json::array();
      for (int32_t id : ids) j["tokens"].push_back(tok->token_text(id));
      // Byte-level pieces can be partial UTF-8: replace rather than throw.
      write_out(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    } else {
      std::string line;
      for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
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
