#include "tokenizer/hf/model.h"

namespace peft::hf {

std::unique_ptr<Model> make_model(const Json& j) {
  if (!j.is_object()) bad_format("\"model\" is missing or not an object");
  std::string type;
  if (j.contains("type") && !j.at("type").is_null()) {
    type = type_of(j, "model");
  } else {
    // Files written by old versions of tokenizers omit "type"; tell the
    // models apart by the fields only one of them has.
    const bool array_vocab = j.contains("vocab") && j.at("vocab").is_array();
    if (j.contains("merges")) type = "BPE";
    else if (array_vocab || j.contains("unk_id")) type = "Unigram";
    else if (j.contains("continuing_subword_prefix") || j.contains("max_input_chars_per_word")) type = "WordPiece";
    else if (j.contains("vocab")) type = "WordLevel";
    else bad_format("model has no \"type\" and no vocabulary");
  }
  if (type == "BPE") return make_bpe_model(j);
  if (type == "WordPiece") return make_wordpiece_model(j);
  if (type == "Unigram") return make_unigram_model(j);
  if (type == "WordLevel") return make_wordlevel_model(j);
  bad_format("unknown model type '" + type + "'");
}

}  // namespace peft::hf
