#include "tokenizer/vocab_convert.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "tokenizer/bpe_pre_json.h"
#include "tokenizer/vocab_types.h"

namespace peft {

namespace {

using Json = nlohmann::ordered_json;
const std::string kSpace = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

bool is_byte_piece(const std::string& s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

int32_t read_id(const GgufFile& f, const std::string& key, int32_t def, size_t n) {
  int64_t v = f.get_int(key, def);
  if (v < -1 || v >= static_cast<int64_t>(n))
    fail("tokenizer", f.path() + ": " + key + " = " + std::to_string(v) + " is outside the vocabulary");
  return static_cast<int32_t>(v);
}

Json added_token(int32_t id, const std::string& content, bool special) {
  return Json{{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
              {"rstrip", false},   {"normalized", false}, {"special", special}};
}

// Appends key -> value to an ordered object unless the key is there already
// (`seen` tracks the keys). ordered_json looks keys up linearly, so adding
// 150k tokens through contains()/operator[] would take minutes.
bool append_new_key(Json& object, std::unordered_set<std::string>& seen, const std::string& key, Json value) {
  if (!seen.insert(key).second) return false;
  object.get_ref<Json::object_t&>().Container::emplace_back(key, std::move(value));
  return true;
}

Json template_processing(const std::string& bos, const std::string& eos, int32_t bos_id, int32_t eos_id) {
  auto seq = [&](const char* which, int type_id) {
    Json items = Json::array();
    if (!bos.empty()) items.push_back({{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}});
    items.push_back({{"Sequence", {{"id", which}, {"type_id", type_id}}}});
    if (!eos.empty()) items.push_back({{"SpecialToken", {{"id", eos}, {"type_id", type_id}}}});
    return items;
  };
  Json pair = seq("A", 0);
  for (Json& item : seq("B", 1)) pair.push_back(item);
  Json specials = Json::object();
  if (!bos.empty()) specials[bos] = {{"id", bos}, {"ids", {bos_id}}, {"tokens", {bos}}};
  if (!eos.empty()) specials[eos] = {{"id", eos}, {"ids", {eos_id}}, {"tokens", {eos}}};
  return Json{{"type", "TemplateProcessing"}, {"single", seq("A", 0)}, {"pair", pair}, {"special_tokens", specials}};
}


// A byte-level BPE: tokens, merges and special tokens copy across as they
// are; the pre-tokenizer GGUF names becomes the Split regexes it stands for
// (bpe_pre_json.h), with ByteLevel mapping the bytes.
bool gpt2_vocab_to_tokenizer_json(const GgufFile& f, HfTokenizerFiles* out, std::string* why_not) {
  std::string pre = f.get_string("tokenizer.ggml.pre", "default");
  if (pre.empty()) pre = "default";  // as llama.cpp reads it
  const BpePreTokenizer* spec = find_bpe_pre_tokenizer(pre);
  if (!spec) {
    *why_not = "GGUF BPE pre-tokenizer '" + pre + "' is " +
               (is_unsupported_llama_cpp_pre(pre) ? "not byte-level BPE" : "unknown") + " and cannot be written as tokenizer.json";
    return false;
  }
  const std::vector<std::string> tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = tokens.size();
  if (!f.has("tokenizer.ggml.merges")) fail("tokenizer", f.path() + ": byte-level BPE without tokenizer.ggml.merges");
  const std::vector<std::string> merges = f.get_string_array("tokenizer.ggml.merges");
  std::vector<TokenType> types(n, TokenType::Normal);
  if (f.has("tokenizer.ggml.token_type")) {
    std::vector<int64_t> raw = f.get_int_array("tokenizer.ggml.token_type");
    if (raw.size() != n) fail("tokenizer", f.path() + ": tokenizer.ggml.token_type and tokens differ in length");
    for (size_t i = 0; i < n; ++i) types[i] = token_type_from_int(raw[i]);
  }
  const int32_t bos = read_id(f, "tokenizer.ggml.bos_token_id", -1, n);
  const int32_t eos = read_id(f, "tokenizer.ggml.eos_token_id", -1, n);
  const bool add_bos = f.get_bool("tokenizer.ggml.add_bos_token", spec->add_bos) && bos >= 0;
  const bool add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false) && eos >= 0;

  Json vocab = Json::object();
  std::unordered_set<std::string> seen;
  Json added = Json::array();
  for (size_t i = 0; i < n; ++i) {
    append_new_key(vocab, seen, tokens[i], static_cast<int32_t>(i));
    if (types[i] == TokenType::Control || types[i] == TokenType::Unknown)
      added.push_back(added_token(static_cast<int32_t>(i), tokens[i], true));
    else if (types[i] == TokenType::UserDefined)
      added.push_back(added_token(static_cast<int32_t>(i), tokens[i], false));
  }
  Json merge_list = Json::array();
  for (const std::string& m : merges) {
    size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == m.size())
      fail("tokenizer", f.path() + ": merge '" + m + "' is not two pieces separated by a space");
    merge_list.push_back(Json::array({m.substr(0, sp), m.substr(sp + 1)}));
  }
  Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  Json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = bpe_pre_tokenizer_json(*spec);
  j["post_processor"] = add_bos || add_eos ? template_processing(add_bos ? tokens[bos] : "", add_eos ? tokens[eos] : "", bos, eos)
                                           : Json(nullptr);
  j["decoder"] = byte_level;
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", ""},
                {"end_of_word_suffix", ""},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", spec->ignore_merges},
                {"vocab", vocab},
                {"merges", merge_list}};
  out->tokenizer_json = j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  Json c;
  c["tokenizer_class"] = spec->name == "gpt-2" ? "GPT2TokenizerFast" : "PreTrainedTokenizerFast";
  c["add_bos_token"] = add_bos;
  c["add_eos_token"] = add_eos;
  if (bos >= 0) c["bos_token"] = tokens[bos];
  if (eos >= 0) c["eos_token"] = tokens[eos];
  c["clean_up_tokenization_spaces"] = false;
  if (f.has("tokenizer.chat_template")) c["chat_template"] = f.get_string("tokenizer.chat_template");
  out->tokenizer_config_json = c.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return true;
}

}  // namespace

bool gguf_vocab_to_tokenizer_json(const GgufFile& f, HfTokenizerFiles* out, std::string* why_not) {
  if (!f.has("tokenizer.ggml.tokens")) {
    *why_not = "the GGUF file has no vocabulary";
    return false;
  }
  const std::string model = f.get_string("tokenizer.ggml.model", "llama");
  if (model == "gpt2") return gpt2_vocab_to_tokenizer_json(f, out, why_not);
  if (model != "llama") {
    *why_not = "GGUF vocabulary '" + model + "' cannot be written as tokenizer.json yet (only 'llama' and 'gpt2')";
    return false;
  }
  const std::vector<std::string> tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = tokens.size();
  std::vector<float> scores(n, 0.0f);
  if (f.has("tokenizer.ggml.scores")) scores = f.get_f32_array("tokenizer.ggml.scores");
  std::vector<TokenType> types(n, TokenType::Normal);
  if (f.has("tokenizer.ggml.token_type")) {
    std::vector<int64_t> raw = f.get_int_array("tokenizer.ggml.token_type");
    if (raw.size() != n) fail("tokenizer", f.path() + ": tokenizer.ggml.token_type and tokens differ in length");
    for (size_t i = 0; i < n; ++i) types[i] = token_type_from_int(raw[i]);
  }
  if (scores.size() != n) fail("tokenizer", f.path() + ": tokenizer.ggml.scores and tokens differ in length");
  // llama.cpp's defaults for SentencePiece vocabularies, as the GGUF loader uses them.
  const int32_t bos = read_id(f, "tokenizer.ggml.bos_token_id", 1, n);
  const int32_t eos = read_id(f, "tokenizer.ggml.eos_token_id", 2, n);
  const int32_t unk = read_id(f, "tokenizer.ggml.unknown_token_id", 0, n);
  const bool add_bos = f.get_bool("tokenizer.ggml.add_bos_token", true) && bos >= 0;
  const bool add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false) && eos >= 0;
  const bool add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", true);

  // Pieces that take part in merging: the ordinary ones. Control, unknown,
  // byte and user-defined tokens are never the result of a merge.
  std::unordered_map<std::string, int32_t> normal;
  Json vocab = Json::object();
  std::unordered_set<std::string> seen;
  size_t duplicates = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!append_new_key(vocab, seen, tokens[i], static_cast<int32_t>(i))) {
      ++duplicates;
      continue;
    }
    if (types[i] == TokenType::Normal) normal.emplace(tokens[i], static_cast<int32_t>(i));
  }
  if (duplicates) log_warn(f.path() + ": " + std::to_string(duplicates) + " duplicate piece(s) kept once in tokenizer.json");

  struct Merge {
    float score;
    int32_t merged;
    size_t split;
  };
  std::vector<Merge> merges;
  for (const auto& [piece, id] : normal) {
    for (size_t k = 1; k < piece.size(); ++k) {
      if ((static_cast<unsigned char>(piece[k]) & 0xC0) == 0x80) continue;  // inside a UTF-8 character
      if (normal.count(piece.substr(0, k)) && normal.count(piece.substr(k))) merges.push_back({scores[id], id, k});
    }
  }
  std::sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.merged != b.merged) return a.merged < b.merged;
    return a.split < b.split;
  });
  Json merge_list = Json::array();
  for (const Merge& m : merges) {
    const std::string& p = tokens[m.merged];
    merge_list.push_back(Json::array({p.substr(0, m.split), p.substr(m.split)}));
  }

  Json added = Json::array();
  bool has_bytes = false;
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = static_cast<int32_t>(i);
    if (types[i] == TokenType::Byte || is_byte_piece(tokens[i])) has_bytes = true;
    if (types[i] == TokenType::Control || types[i] == TokenType::Unknown || id == unk)
      added.push_back(added_token(id, tokens[i], true));
    else if (types[i] == TokenType::UserDefined)
      added.push_back(added_token(id, tokens[i], false));
  }

  Json replace_space = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpace}};
  Json normalizer = add_space_prefix
                        ? Json{{"type", "Sequence"},
                               {"normalizers", Json::array({Json{{"type", "Prepend"}, {"prepend", kSpace}}, replace_space})}}
                        : replace_space;
  Json decoders = Json::array({Json{{"type", "Replace"}, {"pattern", {{"String", kSpace}}}, {"content", " "}},
                               Json{{"type", "ByteFallback"}}, Json{{"type", "Fuse"}}});
  if (add_space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});

  const std::string bos_text = bos >= 0 ? tokens[bos] : "";
  const std::string eos_text = eos >= 0 ? tokens[eos] : "";
  Json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = normalizer;
  j["pre_tokenizer"] = nullptr;
  j["post_processor"] = add_bos || add_eos ? template_processing(add_bos ? bos_text : "", add_eos ? eos_text : "", bos, eos)
                                           : Json(nullptr);
  j["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", unk >= 0 ? Json(tokens[unk]) : Json(nullptr)},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", true},
                {"byte_fallback", has_bytes},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", merge_list}};
  out->tokenizer_json = j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";

  Json c;
  c["tokenizer_class"] = "LlamaTokenizerFast";
  c["add_bos_token"] = add_bos;
  c["add_eos_token"] = add_eos;
  if (bos >= 0) c["bos_token"] = tokens[bos];
  if (eos >= 0) c["eos_token"] = tokens[eos];
  if (unk >= 0) c["unk_token"] = tokens[unk];
  c["clean_up_tokenization_spaces"] = false;
  c["legacy"] = true;
  if (f.has("tokenizer.chat_template")) c["chat_template"] = f.get_string("tokenizer.chat_template");
  out->tokenizer_config_json = c.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return true;
}

namespace {

// A token name in tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
std::string config_token(const nlohmann::json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return "";
  const auto& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) return v.at("content").get<std::string>();
  return "";
}

// Whether a normalizer or pre-tokenizer (possibly a Sequence) does `pred`.
template <typename Pred>
bool any_part(const nlohmann::json& j, const char* list_key, Pred pred) {
  if (!j.is_object()) return false;
  if (j.value("type", "") == "Sequence" && j.contains(list_key) && j.at(list_key).is_array()) {
    for (const auto& part : j.at(list_key))
      if (any_part(part, list_key, pred)) return true;
    return false;
  }
  return pred(j);
}

}  // namespace

bool tokenizer_json_to_gguf_vocab(const std::string& dir, std::vector<std::pair<std::string, GgufValue>>* keys,
                                  std::string* why_not) {
  namespace fs = std::filesystem;
  using J = nlohmann::json;
  std::error_code ec;
  const std::string path = (fs::path(dir) / "tokenizer.json").string();
  if (!fs::exists(path, ec)) {
    *why_not = dir + " has no tokenizer.json";
    return false;
  }
  J root, config;
  try {
    root = J::parse(read_file_bytes(path));
    const fs::path cfg = fs::path(dir) / "tokenizer_config.json";
    if (fs::exists(cfg, ec)) config = J::parse(read_file_bytes(cfg.string()));
  } catch (const J::exception& e) {
    fail("tokenizer", path + ": not valid JSON: " + e.what());
  }
  auto bad = [&](const std::string& what) { fail("tokenizer", path + ": " + what); };
  if (!root.is_object() || !root.contains("model") || !root.at("model").is_object()) bad("no \"model\" object");
  const J& model = root.at("model");
  const J normalizer = root.value("normalizer", J());
  const J pre = root.value("pre_tokenizer", J());
  const bool replaces_space = any_part(normalizer, "normalizers", [](const J& n) {
    return n.value("type", "") == "Replace" && n.value("content", "") == kSpace;
  });
  const bool metaspace = any_part(pre, "pretokenizers", [](const J& p) { return p.value("type", "") == "Metaspace"; });
  const bool bpe = model.value("type", "") == "BPE";
  const bool spm = bpe && model.value("byte_fallback", false) && (replaces_space || metaspace);
  // Byte-level BPE: no normalizer (or NFC, which llama.cpp's Qwen 2
  // conversion drops too), and a pre-tokenizer that GGUF can name.
  std::string bpe_why;
  const BpePreTokenizer* bpe_pre = nullptr;
  if (bpe && !model.value("byte_fallback", false) && !spm) {
    if (!normalizer.is_null() && !(normalizer.is_object() && normalizer.value("type", "") == "NFC"))
      bpe_why = "its normalizer has no GGUF form";
    else
      bpe_pre = bpe_pre_tokenizer_from_json(pre, model.value("ignore_merges", false), &bpe_why);
  }
  const bool gpt2 = bpe_pre != nullptr;
  if (!spm && !gpt2) {
    *why_not = path + " is neither a SentencePiece-style BPE (byte_fallback, '\xE2\x96\x81' for spaces) nor a "
               "byte-level BPE with a pre-tokenizer GGUF can name" + (bpe_why.empty() ? "" : ": " + bpe_why);
    return false;
  }
  if (gpt2 && normalizer.is_object())
    log_warn(path + ": the NFC normalizer has no GGUF form and is left out (as llama.cpp does)");
  bool add_space_prefix =
      any_part(normalizer, "normalizers",
               [](const J& n) { return n.value("type", "") == "Prepend" && n.value("prepend", "") == kSpace; }) ||
      any_part(pre, "pretokenizers", [](const J& p) {
        return p.value("type", "") == "Metaspace" &&
               (p.contains("prepend_scheme") ? p.value("prepend_scheme", "") != "never" : p.value("add_prefix_space", true));
      });

  // Ids: the model's vocabulary plus the added tokens, with no gaps.
  if (!model.contains("vocab") || !model.at("vocab").is_object()) bad("model has no \"vocab\" object");
  std::vector<std::string> tokens;
  std::vector<bool> present;
  auto put = [&](const std::string& text, const J& id_json) {
    if (!id_json.is_number_unsigned() && !id_json.is_number_integer()) bad("token '" + text + "' has a non-integer id");
    int64_t id = id_json.get<int64_t>();
    if (id < 0 || id > 10000000) bad("token '" + text + "' has id " + std::to_string(id) + " out of range");
    if (static_cast<size_t>(id) >= tokens.size()) {
      tokens.resize(id + 1);
      present.resize(id + 1, false);
    }
    tokens[id] = text;
    present[id] = true;
  };
  for (const auto& [text, id] : model.at("vocab").items()) put(text, id);
  std::vector<TokenType> types;
  const J added = root.value("added_tokens", J::array());
  std::vector<std::pair<int64_t, bool>> added_ids;  // id, special
  if (added.is_array())
    for (const J& a : added) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a.at("content").is_string())
        bad("an added token lacks \"id\" or \"content\"");
      put(a.at("content").get<std::string>(), a.at("id"));
      added_ids.emplace_back(a.at("id").get<int64_t>(), a.value("special", false));
    }
  for (size_t i = 0; i < present.size(); ++i)
    if (!present[i]) bad("no token has id " + std::to_string(i) + " (ids must be contiguous for a GGUF vocabulary)");
  const size_t n = tokens.size();
  types.assign(n, TokenType::Normal);
  for (size_t i = 0; i < n && spm; ++i)
    if (is_byte_piece(tokens[i])) types[i] = TokenType::Byte;
  for (auto [id, special] : added_ids) types[id] = special ? TokenType::Control : TokenType::UserDefined;
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < n; ++i) ids.emplace(tokens[i], static_cast<int32_t>(i));
  auto id_of = [&](const std::string& t) -> int32_t {
    auto it = ids.find(t);
    return t.empty() || it == ids.end() ? -1 : it->second;
  };
  const int32_t unk = model.contains("unk_token") && model.at("unk_token").is_string()
                          ? id_of(model.at("unk_token").get<std::string>())
                          : -1;
  if (unk >= 0) types[unk] = TokenType::Unknown;

  // Scores: a piece made by merge rank r scores −r, so the highest score is
  // the earliest merge; pieces no merge makes score far below every merge.
  std::vector<float> scores(n, 0.0f);
  std::vector<bool> merged(n, false);
  if (!model.contains("merges") || !model.at("merges").is_array()) bad("model has no \"merges\" array");
  int64_t rank = 0;
  std::vector<std::string> merge_strings;
  for (const J& m : model.at("merges")) {
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos) bad("merge '" + s + "' has no space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      bad("a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
    if (gpt2) merge_strings.push_back(a + " " + b);
    int32_t id = id_of(a + b);
    if (id >= 0 && !merged[id]) {
      merged[id] = true;
      scores[id] = -static_cast<float>(rank);
    }
    ++rank;
  }
  for (size_t i = 0; i < n; ++i)
    if (!merged[i] && types[i] == TokenType::Normal && tokens[i].size() > 1) scores[i] = -1e9f;

  // BOS/EOS: tokenizer_config.json names them; the post-processor says
  // whether they are added.
  int32_t bos = id_of(config_token(config, "bos_token"));
  int32_t eos = id_of(config_token(config, "eos_token"));
  bool add_bos = false, add_eos = false;
  const J post = root.value("post_processor", J());
  if (post.is_object() && post.value("type", "") == "TemplateProcessing" && post.contains("single") &&
      post.at("single").is_array() && !post.at("single").empty()) {
    auto special_of = [&](const J& item) -> int32_t {
      if (!item.is_object() || !item.contains("SpecialToken")) return -1;
      return id_of(item.at("SpecialToken").value("id", ""));
    };
    int32_t first = special_of(post.at("single").front());
    int32_t last = special_of(post.at("single").back());
    if (first >= 0) {
      add_bos = true;
      if (bos < 0) bos = first;
    }
    if (last >= 0 && post.at("single").size() > 1) {
      add_eos = true;
      if (eos < 0) eos = last;
    }
  }

  keys->clear();
  keys->emplace_back("tokenizer.ggml.model", GgufValue::string(spm ? "llama" : "gpt2"));
  if (gpt2) keys->emplace_back("tokenizer.ggml.pre", GgufValue::string(bpe_pre->name));
  keys->emplace_back("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  if (spm) keys->emplace_back("tokenizer.ggml.scores", GgufValue::f32_array(scores));
  if (gpt2) keys->emplace_back("tokenizer.ggml.merges", GgufValue::string_array(merge_strings));
  std::vector<int32_t> type_ints(n);
  for (size_t i = 0; i < n; ++i) type_ints[i] = static_cast<int32_t>(types[i]);
  keys->emplace_back("tokenizer.ggml.token_type", GgufValue::i32_array(type_ints));
  if (bos >= 0) keys->emplace_back("tokenizer.ggml.bos_token_id", GgufValue::u32(static_cast<uint32_t>(bos)));
  if (eos >= 0) keys->emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(static_cast<uint32_t>(eos)));
  if (unk >= 0) keys->emplace_back("tokenizer.ggml.unknown_token_id", GgufValue::u32(static_cast<uint32_t>(unk)));
  keys->emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(add_bos));
  keys->emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(add_eos));
  if (spm) keys->emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::boolean(add_space_prefix));
  // The chat template: tokenizer_config.json's string, else (newer
  // transformers) chat_template.jinja beside it.
  const fs::path jinja = fs::path(dir) / "chat_template.jinja";
  if (config.is_object() && config.contains("chat_template") && config.at("chat_template").is_string())
    keys->emplace_back("tokenizer.chat_template", GgufValue::string(config.at("chat_template").get<std::string>()));
  else if (fs::exists(jinja, ec))
    keys->emplace_back("tokenizer.chat_template", GgufValue::string(read_file_bytes(jinja.string())));
  return true;
}

}  // namespace peft
