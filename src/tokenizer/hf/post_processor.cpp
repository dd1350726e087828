#include "tokenizer/hf/post_processor.h"

#include <map>
#include <string>

namespace peft::hf {

namespace {

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(std::vector<int32_t>& ids, bool add_special) const override {
    for (const auto& p : parts_) p->process(ids, add_special);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

// Special ids before and after the sequence: BertProcessing,
// RobertaProcessing and TemplateProcessing's "single" all reduce to this.
class WrapProcessor : public PostProcessor {
 public:
  WrapProcessor(std::vector<int32_t> before, std::vector<int32_t> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void process(std::vector<int32_t>& ids, bool add_special) const override {
    if (!add_special) return;
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }

 private:
  std::vector<int32_t> before_, after_;
};

class NoOpProcessor : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
};

// ["[SEP]", 102] -> 102
int32_t token_pair_id(const Json& j, const char* key, const std::string& at) {
  const Json& v = require(j, key, at);
  if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
    bad_format(at + ": \"" + key + "\" is not [token, id]");
  return v[1].get<int32_t>();
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
  const Json& single = require(j, "single", at);
  if (!single.is_array()) bad_format(at + ": \"single\" is not an array");
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (const Json& item : single) {
    if (item.is_object() && item.contains("SpecialToken")) {
      const std::string name = require_string(item.at("SpecialToken"), "id", at);
      auto it = specials.find(name);
      if (it == specials.end()) bad_format(at + ": template uses special token '" + name + "' that special_tokens does not define");
      auto& dst = seen_sequence ? after : before;
      dst.insert(dst.end(), it->second.begin(), it->second.end());
    } else if (item.is_object() && item.contains("Sequence")) {
      if (seen_sequence) bad_format(at + ": \"single\" template holds more than one sequence");
      seen_sequence = true;
    } else {
      bad_format(at + ": template item is neither SpecialToken nor Sequence");
    }
  }
  if (!seen_sequence) bad_format(at + ": \"single\" template has no Sequence");
  return std::make_unique<WrapProcessor>(std::move(before), std::move(after));
}

}  // namespace

std::unique_ptr<PostProcessor> make_wrap_processor(std::vector<int32_t> before, std::vector<int32_t> after) {
  return std::make_unique<WrapProcessor>(std::move(before), std::move(after));
}

std::unique_ptr<PostProcessor> make_post_processor(const Json& j) {
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
      auto p = make_post_processor(item);
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  if (type == "TemplateProcessing") return make_template(j, at);
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    return std::make_unique<WrapProcessor>(std::vector<int32_t>{token_pair_id(j, "cls", at)},
                                           std::vector<int32_t>{token_pair_id(j, "sep", at)});
  }
  if (type == "ByteLevel") return std::make_unique<NoOpProcessor>();  // only trims offsets
  bad_format("unknown post_processor type '" + type + "'");
}

}  // namespace peft::hf
