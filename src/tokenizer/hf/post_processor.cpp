#include "tokenizer/hf/post_processor.h"

#include <algorithm>
#include <map>
#include <string>

#include "core/error.h"
#include "tokenizer/hf/unicode.h"

namespace peft::hf {

namespace {

void set_type(Encoding& e, int32_t type_id) { std::fill(e.type_ids.begin(), e.type_ids.end(), type_id); }

Encoding merged(std::vector<Encoding>& encs) {
  Encoding out;
  for (const Encoding& e : encs) out.append(e);
  return out;
}

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(std::vector<Encoding>& encs, bool add_special) const override {
    for (const auto& p : parts_) p->process(encs, add_special);
  }
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (const auto& p : parts_) n += p->added_tokens(pair);
    return n;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

// One template item: a special token's ids, or text A / B, with a type id.
struct TemplateItem {
  int sequence = -1;  // 0 = A, 1 = B, -1 = special token
  std::vector<int32_t> ids;
  int32_t type_id = 0;
};

using Template = std::vector<TemplateItem>;

class TemplateProcessor : public PostProcessor {
 public:
  TemplateProcessor(Template single, std::optional<Template> pair) : single_(std::move(single)), pair_(std::move(pair)) {}

  void process(std::vector<Encoding>& encs, bool add_special) const override {
    if (encs.size() == 2 && !pair_) fail("tokenizer", "the post_processor has no template for a pair of texts");
    const Template& t = encs.size() == 2 ? *pair_ : single_;
    std::vector<Encoding> out;
    for (const TemplateItem& item : t) {
      if (item.sequence >= 0) {
        if (static_cast<size_t>(item.sequence) >= encs.size()) continue;
        Encoding e = encs[item.sequence];
        set_type(e, item.type_id);
        out.push_back(std::move(e));
      } else if (add_special) {
        out.push_back(Encoding::special_run(item.ids, item.type_id));
      }
    }
    encs.clear();
    encs.push_back(merged(out));
  }
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (const TemplateItem& item : pair && pair_ ? *pair_ : single_) n += item.ids.size();
    return n;
  }

 private:
  Template single_;
  std::optional<Template> pair_;
};

// BertProcessing: [CLS] A [SEP] (B [SEP]), type ids 0 up to the first [SEP]
// and B's own (1) after. RobertaProcessing: <s> A </s> (</s> B </s>), every
// type id 0, and optionally ByteLevel's offset trimming first.
class BertLikeProcessor : public PostProcessor {
 public:
  BertLikeProcessor(int32_t cls, int32_t sep, bool roberta, bool trim, bool add_prefix_space, TokenText text)
      : cls_(cls), sep_(sep), roberta_(roberta), trim_(trim), add_prefix_space_(add_prefix_space),
        text_(std::move(text)) {}

  void process(std::vector<Encoding>& encs, bool add_special) const override;
  size_t added_tokens(bool pair) const override { return pair ? (roberta_ ? 4 : 3) : 2; }

 private:
  int32_t cls_, sep_;
  bool roberta_, trim_, add_prefix_space_;
  TokenText text_;
};

// Moves each token's offsets past the spaces ('Ġ' or whitespace) that begin
// or end its text, so that " world" reports only "world". A single leading
// space on the first token is kept when add_prefix_space put it there.
void trim_offsets(Encoding& e, bool add_prefix_space, const TokenText& text) {
  static const std::string kSpace = "\xC4\xA0";  // 'Ġ', the byte-level space
  for (size_t i = 0; i < e.size(); ++i) {
    const std::string t = text(e.ids[i]);
    std::vector<uint32_t> cps;
    std::vector<bool> space;
    size_t k = 0;
    while (k < t.size()) {
      const size_t b = k;
      const uint32_t cp = next_cp(t, k);
      space.push_back(t.compare(b, k - b, kSpace) == 0 || is_whitespace(cp));
    }
    size_t lead = 0, trail = 0;
    while (lead < space.size() && space[lead]) ++lead;
    while (trail < space.size() && space[space.size() - 1 - trail]) ++trail;
    TokenOffset& o = e.offsets[i];
    if (lead > 0) {
      const bool first = i == 0 || o.begin == 0;
      if (!(first && add_prefix_space && lead == 1)) o.begin = std::min(o.begin + lead, o.end);
    }
    if (trail > 0 && o.end >= trail) o.end = std::max(o.end - trail, o.begin);
  }
}

void BertLikeProcessor::process(std::vector<Encoding>& encs, bool add_special) const {
  if (trim_)
    for (Encoding& e : encs) trim_offsets(e, add_prefix_space_, text_);
  if (roberta_)
    for (Encoding& e : encs) set_type(e, 0);
  if (!add_special) return;
  std::vector<Encoding> out;
  out.push_back(Encoding::special_run({cls_}, 0));
  out.push_back(encs[0]);
  out.push_back(Encoding::special_run({sep_}, 0));
  if (encs.size() > 1) {
    if (roberta_) out.push_back(Encoding::special_run({sep_}, 0));
    out.push_back(encs[1]);
    out.push_back(Encoding::special_run({sep_}, roberta_ ? 0 : 1));
  }
  encs.clear();
  encs.push_back(merged(out));
}

class ByteLevelProcessor : public PostProcessor {
 public:
  ByteLevelProcessor(bool trim, bool add_prefix_space, TokenText text)
      : trim_(trim), add_prefix_space_(add_prefix_space), text_(std::move(text)) {}
  void process(std::vector<Encoding>& encs, bool) const override {
    if (trim_)
      for (Encoding& e : encs) trim_offsets(e, add_prefix_space_, text_);
  }
  size_t added_tokens(bool) const override { return 0; }

 private:
  bool trim_, add_prefix_space_;
  TokenText text_;
};

// ["[SEP]", 102] -> 102
int32_t token_pair_id(const Json& j, const char* key, const std::string& at) {
  const Json& v = require(j, key, at);
  if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
    bad_format(at + ": \"" + key + "\" is not [token, id]");
  return v[1].get<int32_t>();
}

Template parse_template(const Json& items, const char* name, const std::map<std::string, std::vector<int32_t>>& specials,
                        const std::string& at) {
  if (!items.is_array()) bad_format(at + ": \"" + name + "\" is not an array");
  Template t;
  for (const Json& item : items) {
    TemplateItem ti;
    const char* kind = nullptr;
    if (item.is_object() && item.contains("SpecialToken")) kind = "SpecialToken";
    else if (item.is_object() && item.contains("Sequence")) kind = "Sequence";
    else bad_format(at + ": template item is neither SpecialToken nor Sequence");
    const Json& body = item.at(kind);
    const std::string id = require_string(body, "id", at);
    ti.type_id = static_cast<int32_t>(opt_int(body, "type_id", 0, at));
    if (std::string(kind) == "Sequence") {
      if (id == "A") ti.sequence = 0;
      else if (id == "B") ti.sequence = 1;
      else bad_format(at + ": template sequence '" + id + "' is neither A nor B");
    } else {
      auto it = specials.find(id);
      if (it == specials.end()) bad_format(at + ": template uses special token '" + id + "' that special_tokens does not define");
      ti.ids = it->second;
    }
    t.push_back(std::move(ti));
  }
  const bool has_a = std::any_of(t.begin(), t.end(), [](const TemplateItem& x) { return x.sequence == 0; });
  if (!has_a) bad_format(at + ": \"" + name + "\" template has no sequence A");
  return t;
}

std::unique_ptr<PostProcessor> make_template(const Json& j, const std::string& at) {
  std::map<std::string, std::vector<int32_t>> specials;
  if (j.contains("special_tokens")) {
    const Json& st = j.at("special_tokens");
    if (!st.is_object()) bad_format(at + ": \"special_tokens\" is not an object");
    for (auto it = st.begin(); it != st.end(); ++it) {
      const Json& ids = require(it.value(), "ids", at + " special token '" + it.key() + "'");
      if (!ids.is_array()) bad_format(at + ": special token '" + it.key() + "' has no ids array");
      std::vector<int32_t> v;
      for (const Json& id : ids) {
        if (!id.is_number_integer()) bad_format(at + ": special token '" + it.key() + "' has a non-integer id");
        v.push_back(id.get<int32_t>());
      }
      specials[it.key()] = std::move(v);
    }
  }
  Template single = parse_template(require(j, "single", at), "single", specials, at);
  std::optional<Template> pair;
  if (j.contains("pair") && !j.at("pair").is_null()) pair = parse_template(j.at("pair"), "pair", specials, at);
  return std::make_unique<TemplateProcessor>(std::move(single), std::move(pair));
}

}  // namespace

std::unique_ptr<PostProcessor> make_wrap_processor(std::vector<int32_t> before, std::vector<int32_t> after) {
  Template single, pair;
  auto add = [](Template& t, const std::vector<int32_t>& ids, int32_t type) {
    if (!ids.empty()) t.push_back({-1, ids, type});
  };
  add(single, before, 0);
  single.push_back({0, {}, 0});
  add(single, after, 0);
  pair = single;
  add(pair, before, 1);
  pair.push_back({1, {}, 1});
  add(pair, after, 1);
  return std::make_unique<TemplateProcessor>(std::move(single), std::move(pair));
}

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, TokenText token_text) {
  if (j.is_null()) return nullptr;
  const std::string where = "post_processor";
  const std::string type = type_of(j, where);
  const std::string at = where + " " + type;
  if (type == "Sequence") {
    const NestingGuard guard(at);
    const Json& list = require(j, "processors", at);
    if (!list.is_array()) bad_format(at + ": \"processors\" is not an array");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (const Json& item : list) {
      auto p = make_post_processor(item, token_text);
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  if (type == "TemplateProcessing") return make_template(j, at);
  if (type == "BertProcessing") {
    return std::make_unique<BertLikeProcessor>(token_pair_id(j, "cls", at), token_pair_id(j, "sep", at), false,
                                               false, false, token_text);
  }
  if (type == "RobertaProcessing") {
    return std::make_unique<BertLikeProcessor>(token_pair_id(j, "cls", at), token_pair_id(j, "sep", at), true,
                                               opt_bool(j, "trim_offsets", true, at),
                                               opt_bool(j, "add_prefix_space", true, at), token_text);
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelProcessor>(opt_bool(j, "trim_offsets", true, at),
                                                opt_bool(j, "add_prefix_space", true, at), token_text);
  }
  bad_format("unknown post_processor type '" + type + "'");
}

Encoding run_post_processor(const PostProcessor* p, Encoding a, std::optional<Encoding> b, bool add_special) {
  std::vector<Encoding> encs;
  encs.push_back(std::move(a));
  if (b) encs.push_back(std::move(*b));
  if (p) p->process(encs, add_special);
  if (encs.size() == 1) return std::move(encs[0]);
  return merged(encs);
}

}  // namespace peft::hf
