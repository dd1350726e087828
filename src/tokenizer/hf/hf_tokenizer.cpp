#include "tokenizer/hf/hf_tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/hf/added_tokens.h"
#include "tokenizer/hf/decoder.h"
#include "tokenizer/hf/model.h"
#include "tokenizer/hf/normalizer.h"
#include "tokenizer/hf/post_processor.h"
#include "tokenizer/hf/pre_tokenizer.h"
#include "tokenizer/hf/unicode.h"

namespace peft {

namespace {

using hf::Json;

class HfTokenizer : public Tokenizer {
 public:
  HfTokenizer(const Json& root, const Json* config);

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override;
  int32_t vocab_size() const override { return std::max(model_->size(), added_.max_id() + 1); }
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  bool adds_bos() const override { return adds_bos_; }
  std::string token_text(int32_t id) const override;
  bool is_special(int32_t id) const override {
    const hf::AddedToken* t = added_.by_id(id);
    return t != nullptr && t->special;
  }
  std::string summary() const override;

  Encoding encode_text(std::string_view text, bool encode_special_tokens, bool offsets) const override;
  size_t num_special_tokens(bool pair) const override {
    return post_processor_ ? post_processor_->added_tokens(pair) : 0;
  }
  Encoding post_process(Encoding a, std::optional<Encoding> b, bool add_special) const override {
    return hf::run_post_processor(post_processor_.get(), std::move(a), std::move(b), add_special);
  }
  std::optional<Truncation> configured_truncation() const override { return truncation_; }
  std::optional<Padding> configured_padding() const override { return padding_; }
  bool has_offsets() const override { return true; }

 private:
  // The tokens of a text (already valid UTF-8) without special tokens;
  // offsets when `offsets` is given.
  void tokenize(std::string_view text, bool split_special, std::vector<int32_t>& ids,
                std::vector<TokenOffset>* offsets) const;
  int32_t id_of(std::string_view token) const {
    const int32_t a = added_.find(token);
    return a >= 0 ? a : model_->token_to_id(token);
  }
  void encode_plain(std::string_view text, size_t base, bool at_start, bool split_special, std::vector<int32_t>& ids,
                    std::vector<TokenOffset>* offsets) const;
  void apply_bos_eos_flags(const Json& config);
  void read_truncation_padding(const Json& root);

  std::unique_ptr<hf::Normalizer> normalizer_;
  std::unique_ptr<hf::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<hf::Model> model_;
  std::unique_ptr<hf::PostProcessor> post_processor_;
  std::unique_ptr<hf::Decoder> decoder_;
  hf::AddedVocab added_;
  int32_t bos_ = -1;
  int32_t eos_ = -1;
  bool adds_bos_ = false;
  bool byte_level_ = false;
  std::optional<Truncation> truncation_;
  std::optional<Padding> padding_;
};

// A token name in tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
std::string config_token(const Json& config, const char* key) {
  if (!config.contains(key)) return "";
  const Json& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) return v.at("content").get<std::string>();
  return "";
}

HfTokenizer::HfTokenizer(const Json& root, const Json* config) {
  if (!root.is_object()) hf::bad_format("top level is not a JSON object");
  if (!root.contains("model")) hf::bad_format("no \"model\"");
  model_ = hf::make_model(root.at("model"));
  normalizer_ = hf::make_normalizer(root.value("normalizer", Json()));
  pre_tokenizer_ = hf::make_pre_tokenizer(root.value("pre_tokenizer", Json()));
  post_processor_ = hf::make_post_processor(root.value("post_processor", Json()),
                                            [this](int32_t id) { return token_text(id); });
  decoder_ = hf::make_decoder(root.value("decoder", Json()));
  added_.load(root.value("added_tokens", Json()), normalizer_.get(),
              [this](std::string_view content) { return model_->token_to_id(content); });
  byte_level_ = root.value("pre_tokenizer", Json()).dump().find("\"ByteLevel\"") != std::string::npos;

  // What the post-processor puts around a text, found by running it on a
  // marker id: the ids before the marker are what it prepends.
  Encoding probe_in;
  probe_in.ids = {-7};
  probe_in.type_ids = {0};
  probe_in.attention_mask = {1};
  probe_in.special_tokens_mask = {0};
  probe_in.offsets = {TokenOffset{}};
  probe_in.sequence_ids = {0};
  const std::vector<int32_t> probe = post_process(probe_in, std::nullopt, true).ids;
  size_t marker = 0;
  while (marker < probe.size() && probe[marker] != -7) ++marker;
  adds_bos_ = marker > 0;
  if (marker > 0) bos_ = probe[0];
  if (marker + 1 < probe.size()) eos_ = probe.back();

  if (config != nullptr && config->is_object()) {
    const std::string bos = config_token(*config, "bos_token");
    const std::string eos = config_token(*config, "eos_token");
    if (!bos.empty() && id_of(bos) >= 0) bos_ = id_of(bos);
    if (!eos.empty() && id_of(eos) >= 0) eos_ = id_of(eos);
    apply_bos_eos_flags(*config);
  }
  read_truncation_padding(root);
}

// The "truncation" and "padding" sections, as HF serializes
// TruncationParams and PaddingParams; null means off.
void HfTokenizer::read_truncation_padding(const Json& root) {
  const Json tr = root.value("truncation", Json());
  if (!tr.is_null()) {
    const std::string at = "truncation";
    if (!tr.is_object()) hf::bad_format(at + " is not an object");
    Truncation t;
    const int64_t max_length = hf::opt_int(tr, "max_length", 512, at);
    const int64_t stride = hf::opt_int(tr, "stride", 0, at);
    if (max_length < 0 || stride < 0) hf::bad_format(at + ": negative max_length or stride");
    t.max_length = static_cast<size_t>(max_length);
    t.stride = static_cast<size_t>(stride);
    try {
      t.strategy = parse_truncation_strategy(hf::opt_string(tr, "strategy", "LongestFirst", at));
      t.direction = parse_side(hf::opt_string(tr, "direction", "Right", at));
    } catch (const InputError& e) {
      hf::bad_format(at + ": " + std::string(e.what()).substr(std::string("[tokenizer] ").size()));
    }
    truncation_ = t;
  }
  const Json pd = root.value("padding", Json());
  if (!pd.is_null()) {
    const std::string at = "padding";
    if (!pd.is_object()) hf::bad_format(at + " is not an object");
    Padding p;
    const Json strategy = pd.value("strategy", Json("BatchLongest"));
    if (strategy.is_object() && strategy.contains("Fixed") && strategy.at("Fixed").is_number_unsigned()) {
      p.length = strategy.at("Fixed").get<size_t>();
    } else if (!(strategy.is_string() && strategy.get<std::string>() == "BatchLongest")) {
      hf::bad_format(at + ": strategy is neither \"BatchLongest\" nor {\"Fixed\": n}");
    }
    const Json multiple = pd.value("pad_to_multiple_of", Json());
    if (!multiple.is_null()) {
      if (!multiple.is_number_unsigned()) hf::bad_format(at + ": pad_to_multiple_of is not a count");
      p.multiple_of = multiple.get<size_t>();
    }
    p.pad_id = static_cast<int32_t>(hf::opt_int(pd, "pad_id", 0, at));
    p.pad_type_id = static_cast<int32_t>(hf::opt_int(pd, "pad_type_id", 0, at));
    p.pad_token = hf::opt_string(pd, "pad_token", "[PAD]", at);
    try {
      p.direction = parse_side(hf::opt_string(pd, "direction", "Right", at));
    } catch (const InputError& e) {
      hf::bad_format(at + ": " + std::string(e.what()).substr(std::string("[tokenizer] ").size()));
    }
    padding_ = p;
  }
}

// transformers' Llama-family fast tokenizers rebuild the post-processor
// from tokenizer_config.json's add_bos_token / add_eos_token when they load
// (update_post_processor), whatever tokenizer.json says; a fine-tuning
// config that sets add_eos_token must get its EOS here too.
void HfTokenizer::apply_bos_eos_flags(const Json& config) {
  static const char* kClasses[] = {"LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer",
                                   "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast",
                                   "CohereTokenizerFast"};
  const auto cls = config.find("tokenizer_class");
  if (cls == config.end() || !cls->is_string()) return;
  bool known = false;
  for (const char* c : kClasses) known = known || *cls == c;
  if (!known) return;
  auto flag = [&](const char* key, bool def) {
    const auto it = config.find(key);
    return it != config.end() && it->is_boolean() ? it->get<bool>() : def;
  };
  const bool add_bos = flag("add_bos_token", true);
  const bool add_eos = flag("add_eos_token", false);
  if (add_bos && bos_ < 0) return;  // nothing to add: keep the file's own
  if (add_eos && eos_ < 0) return;
  std::vector<int32_t> before, after;
  if (add_bos) before.push_back(bos_);
  if (add_eos) after.push_back(eos_);
  post_processor_ = hf::make_wrap_processor(std::move(before), std::move(after));
  adds_bos_ = add_bos;
}

// Normalizes a stretch of plain text (text[base, ...) of the input), cuts
// out the normalized added tokens, pre-tokenizes and runs the model. With
// `offsets`, each byte carries the span of the input it stands for through
// every stage, and a token's offsets are the spans of its first and last
// bytes joined (HF's alignments).
void HfTokenizer::encode_plain(std::string_view text, size_t base, bool at_start, bool split_special,
                               std::vector<int32_t>& ids, std::vector<TokenOffset>* offsets) const {
  hf::AlignedText norm;
  norm.text.assign(text);
  if (offsets) {
    norm.align.resize(text.size());
    size_t i = 0;
    while (i < text.size()) {
      const size_t b = i;
      hf::next_cp(text, i);
      for (size_t k = b; k < i; ++k) norm.align[k] = {base + b, base + i};
    }
    if (normalizer_) normalizer_->normalize_aligned(norm);
  } else if (normalizer_) {
    normalizer_->normalize(norm.text);
  }
  auto span_of = [](const std::vector<hf::Span>& align, size_t b, size_t e) -> TokenOffset {
    if (e > align.size() || b >= e) return {};
    return {align[b].begin, align[e - 1].end};
  };
  std::vector<uint32_t> lens;
  for (const hf::Segment& seg : added_.split(norm.text, true, split_special)) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      if (offsets) offsets->push_back(span_of(norm.align, seg.begin, seg.end));
      continue;
    }
    std::vector<hf::Piece> pieces;
    hf::Piece first{norm.text.substr(seg.begin, seg.end - seg.begin), at_start && seg.begin == 0, {}};
    if (offsets) first.align.assign(norm.align.begin() + seg.begin, norm.align.begin() + seg.end);
    pieces.push_back(std::move(first));
    if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
    for (const hf::Piece& p : pieces) {
      if (!offsets) {
        model_->tokenize(p.text, ids);
        continue;
      }
      lens.clear();
      model_->tokenize(p.text, ids, &lens);
      const bool aligned = p.align.size() == p.text.size();
      size_t pos = 0;
      for (uint32_t len : lens) {
        offsets->push_back(aligned ? span_of(p.align, pos, pos + len) : TokenOffset{});
        pos += len;
      }
    }
  }
}

void HfTokenizer::tokenize(std::string_view text, bool split_special, std::vector<int32_t>& ids,
                           std::vector<TokenOffset>* offsets) const {
  for (const hf::Segment& seg : added_.split(text, false, split_special)) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      if (offsets) offsets->push_back({seg.begin, seg.end});
    } else {
      encode_plain(text.substr(seg.begin, seg.end - seg.begin), seg.begin, seg.begin == 0, split_special, ids,
                   offsets);
    }
  }
}

std::vector<int32_t> HfTokenizer::encode(std::string_view raw, bool add_special) const {
  const std::string text = hf::sanitize_utf8(raw);
  std::vector<int32_t> ids;
  tokenize(text, false, ids, nullptr);
  if (!add_special || !post_processor_) return ids;
  Encoding e;
  e.ids = std::move(ids);
  const size_t n = e.ids.size();
  e.type_ids.assign(n, 0);
  e.attention_mask.assign(n, 1);
  e.special_tokens_mask.assign(n, 0);
  e.offsets.assign(n, TokenOffset{});
  e.sequence_ids.assign(n, 0);
  return post_process(std::move(e), std::nullopt, true).ids;
}

// Offsets are into `raw` when it is valid UTF-8; malformed bytes are first
// replaced by U+FFFD (3 bytes), and offsets then refer to that text.
Encoding HfTokenizer::encode_text(std::string_view raw, bool encode_special_tokens, bool offsets) const {
  const std::string text = hf::sanitize_utf8(raw);
  Encoding e;
  tokenize(text, encode_special_tokens, e.ids, offsets ? &e.offsets : nullptr);
  const size_t n = e.ids.size();
  if (!offsets) e.offsets.assign(n, TokenOffset{});
  e.type_ids.assign(n, 0);
  e.attention_mask.assign(n, 1);
  e.special_tokens_mask.assign(n, 0);
  e.sequence_ids.assign(n, 0);
  return e;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const hf::AddedToken* a = added_.by_id(id);
    if (a != nullptr) {
      if (skip_special && a->special) continue;
      tokens.push_back(a->content);
      continue;
    }
    const std::string* t = model_->id_to_token(id);
    if (t != nullptr) tokens.push_back(*t);  // unknown ids are dropped, as HF does
  }
  std::string text;
  if (decoder_) {
    decoder_->decode_chain(tokens);
    for (const std::string& t : tokens) text += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) text.push_back(' ');
      text += tokens[i];
    }
  }
  return text;
}

std::string HfTokenizer::token_text(int32_t id) const {
  if (const hf::AddedToken* a = added_.by_id(id)) return a->content;
  const std::string* t = model_->id_to_token(id);
  return t ? *t : std::string();
}

std::string HfTokenizer::summary() const {
  std::ostringstream s;
  s << "tokenizer.json " << model_->kind() << (byte_level_ ? " (byte-level)" : "") << ", " << vocab_size()
    << " tokens, bos " << bos_ << ", eos " << eos_;
  return s.str();
}

bool read_text(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::string& path) {
  std::string bytes;
  if (!read_text(path, bytes)) fail("tokenizer", path + ": cannot read the file");
  Json root = Json::parse(bytes, nullptr, false);
  if (root.is_discarded()) fail("tokenizer", path + ": not valid JSON");
  Json config;
  bool have_config = false;
  {
    const std::filesystem::path cfg = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
    std::string cbytes;
    if (read_text(cfg.string(), cbytes)) {
      config = Json::parse(cbytes, nullptr, false);
      have_config = !config.is_discarded() && config.is_object();  // a broken config is not ours to judge
    }
  }
  try {
    return std::make_unique<HfTokenizer>(root, have_config ? &config : nullptr);
  } catch (const hf::FormatError& e) {
    fail("tokenizer", path + ": " + e.what());
  } catch (const Json::exception& e) {
    fail("tokenizer", path + ": unexpected JSON structure (" + std::string(e.what()) + ")");
  }
}

}  // namespace peft
