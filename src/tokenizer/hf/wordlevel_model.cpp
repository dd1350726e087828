// WordLevel: each piece is looked up whole; unknown pieces become unk.
#include "core/error.h"
#include "tokenizer/hf/model.h"
#include "tokenizer/hf/vocab.h"

namespace peft::hf {

namespace {

class WordLevelModel : public Model {
 public:
  explicit WordLevelModel(const Json& j) {
    const std::string at = "model WordLevel";
    vocab_ = Vocab::from_json(require(j, "vocab", at), at);
    unk_token_ = opt_string(j, "unk_token", "<unk>", at);
    unk_id_ = vocab_.find(unk_token_);
  }

  using Model::tokenize;
  void tokenize(std::string_view piece, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const override {
    if (piece.empty()) return;
    if (lens) lens->push_back(static_cast<uint32_t>(piece.size()));
    const int32_t id = vocab_.find(piece);
    if (id >= 0) {
      out.push_back(id);
    } else if (unk_id_ >= 0) {
      out.push_back(unk_id_);
    } else {
      fail("tokenizer", "WordLevel model: '" + std::string(piece) + "' is not in the vocabulary and there is no unk token");
    }
  }
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t size() const override { return vocab_.size(); }
  std::string kind() const override { return "WordLevel"; }

 private:
  Vocab vocab_;
  std::string unk_token_;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_wordlevel_model(const Json& j) { return std::make_unique<WordLevelModel>(j); }

}  // namespace peft::hf
