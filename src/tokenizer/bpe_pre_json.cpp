#include "tokenizer/bpe_pre_json.h"

#include <vector>

namespace peft {

namespace {

using OJson = nlohmann::ordered_json;
using J = nlohmann::json;

// GPT-2's pattern, which ByteLevel runs when use_regex is set.
const char* const kByteLevelRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Hugging Face's Punctuation pre-tokenizer: Unicode punctuation (P*) and
// the ASCII punctuation characters that Unicode calls symbols.
const char* const kPunctuationClass = R"([\p{P}\$\+<=>\^~\|`])";

OJson byte_level(bool use_regex) {
  return OJson{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

// Whether a regex means the same on byte-mapped text as on the original:
// ASCII digits and letters map to themselves, so a pattern made only of
// those (and of regex syntax) does; white space, \p{...} classes and other
// characters do not survive the mapping.
bool same_after_byte_mapping(const std::string& canonical) {
  for (size_t i = 0; i < canonical.size(); ++i) {
    const char c = canonical[i];
    if (c == '\\') {
      if (i + 1 < canonical.size() && canonical[i + 1] == 'd') {
        ++i;
        continue;
      }
      return false;
    }
    if (c == ' ') return false;
  }
  return true;
}

struct Flattener {
  std::vector<std::string> regexes;
  int byte_levels = 0;
  std::string why;

  bool add(const J& p) {
    if (!p.is_object()) {
      why = "a pre_tokenizer entry is not an object";
      return false;
    }
    const std::string type = p.value("type", "");
    if (type == "Sequence") {
      if (!p.contains("pretokenizers") || !p.at("pretokenizers").is_array()) {
        why = "a Sequence pre_tokenizer has no \"pretokenizers\" list";
        return false;
      }
      for (const J& q : p.at("pretokenizers"))
        if (!add(q)) return false;
      return true;
    }
    if (type == "ByteLevel") {
      if (p.value("add_prefix_space", false)) {
        why = "its ByteLevel pre-tokenizer prepends a space (add_prefix_space), which GGUF cannot express";
        return false;
      }
      if (++byte_levels > 1) {
        why = "it has two ByteLevel pre-tokenizers";
        return false;
      }
      if (p.value("use_regex", true)) regexes.push_back(kByteLevelRegex);
      return true;
    }
    std::string regex;
    if (type == "Split") {
      const J pattern = p.value("pattern", J());
      if (!pattern.is_object() || !pattern.contains("Regex") || !pattern.at("Regex").is_string()) {
        why = "a Split pre-tokenizer has no regex pattern";
        return false;
      }
      if (p.value("behavior", "") != "Isolated" || p.value("invert", false)) {
        why = "a Split pre-tokenizer with behavior '" + p.value("behavior", std::string("?")) +
              (p.value("invert", false) ? "' and invert" : "'") + " has no GGUF form (only Isolated)";
        return false;
      }
      regex = pattern.at("Regex").get<std::string>();
    } else if (type == "Digits") {
      // Digit runs after ByteLevel's GPT-2 split (Falcon's layout) only
      // part a leading "Ġ" from its digits; llama.cpp's table leaves that
      // step out, and so do we.
      if (byte_levels > 0 && !p.value("individual_digits", false)) return true;
      regex = p.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)";
    } else if (type == "Punctuation") {
      const std::string behavior = p.value("behavior", "Isolated");
      if (behavior != "Isolated" && behavior != "Contiguous") {
        why = "a Punctuation pre-tokenizer with behavior '" + behavior + "' has no GGUF form";
        return false;
      }
      regex = std::string(kPunctuationClass) + (behavior == "Contiguous" ? "+" : "");
    } else {
      why = "its pre-tokenizer '" + type + "' has no GGUF form";
      return false;
    }
    // After ByteLevel, splits see "Ġ" for a space and other stand-ins for
    // non-ASCII bytes; only patterns blind to the difference carry over.
    if (byte_levels > 0 && !same_after_byte_mapping(canonical_regex(regex))) {
      why = "it splits the byte-mapped text after ByteLevel, which GGUF cannot express";
      return false;
    }
    regexes.push_back(regex);
    return true;
  }
};

}  // namespace

OJson bpe_pre_tokenizer_json(const BpePreTokenizer& pre) {
  if (pre.regexes.size() == 1 && canonical_regex(pre.regexes[0]) == canonical_regex(kByteLevelRegex))
    return byte_level(true);
  OJson parts = OJson::array();
  for (const std::string& r : pre.regexes)
    parts.push_back(OJson{{"type", "Split"}, {"pattern", {{"Regex", r}}}, {"behavior", "Isolated"}, {"invert", false}});
  parts.push_back(byte_level(false));
  return OJson{{"type", "Sequence"}, {"pretokenizers", parts}};
}

const BpePreTokenizer* bpe_pre_tokenizer_from_json(const J& pre, bool ignore_merges, std::string* why_not) {
  Flattener f;
  if (pre.is_null()) {
    *why_not = "it has no pre_tokenizer";
    return nullptr;
  }
  if (!f.add(pre)) {
    *why_not = f.why;
    return nullptr;
  }
  if (f.byte_levels == 0) {
    *why_not = "its pre_tokenizer has no ByteLevel step (not a byte-level BPE)";
    return nullptr;
  }
  const BpePreTokenizer* p = recognise_bpe_pre_tokenizer(f.regexes, ignore_merges);
  if (!p) {
    *why_not = "its pre-tokenizer (" + std::to_string(f.regexes.size()) + " split regex" +
               (f.regexes.size() == 1 ? "" : "es") + (ignore_merges ? ", ignore_merges" : "") +
               ") is none of the byte-level pre-tokenizers llama.cpp names";
  }
  return p;
}

}  // namespace peft
