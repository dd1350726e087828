// WordPiece (BERT): greedy longest match from the left; every match after
// the first is looked up with the continuing_subword_prefix ("##"). A piece
// with an unmatchable remainder, or longer than max_input_chars_per_word
// characters, becomes the single unk token.
#include "tokenizer/hf/model.h"
#include "tokenizer/hf/unicode.h"
#include "tokenizer/hf/vocab.h"

namespace peft::hf {

namespace {

class WordPieceModel : public Model {
 public:
  explicit WordPieceModel(const Json& j) {
    const std::string at = "model WordPiece";
    vocab_ = Vocab::from_json(require(j, "vocab", at), at);
    unk_token_ = opt_string(j, "unk_token", "[UNK]", at);
    prefix_ = opt_string(j, "continuing_subword_prefix", "##", at);
    max_chars_ = opt_int(j, "max_input_chars_per_word", 100, at);
    unk_id_ = vocab_.find(unk_token_);
    if (unk_id_ < 0) bad_format(at + ": unk_token '" + unk_token_ + "' is not in the vocabulary");
  }

  using Model::tokenize;
  void tokenize(std::string_view piece, std::vector<int32_t>& out, std::vector<uint32_t>* lens) const override {
    if (piece.empty()) return;
    if (static_cast<int64_t>(cp_count(piece)) > max_chars_) {
      out.push_back(unk_id_);
      if (lens) lens->push_back(static_cast<uint32_t>(piece.size()));
      return;
    }
    const size_t mark = out.size();
    const size_t lens_mark = lens ? lens->size() : 0;
    std::string key;
    size_t start = 0;
    while (start < piece.size()) {
      size_t end = piece.size();
      int32_t found = -1;
      while (start < end) {
        key.clear();
        if (start > 0) key += prefix_;
        key.append(piece.substr(start, end - start));
        found = vocab_.find(key);
        if (found >= 0) break;
        // Step back one whole character.
        do { --end; } while (end > start && (static_cast<uint8_t>(piece[end]) & 0xC0) == 0x80);
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back(unk_id_);
        if (lens) {
          lens->resize(lens_mark);
          lens->push_back(static_cast<uint32_t>(piece.size()));
        }
        return;
      }
      out.push_back(found);
      if (lens) lens->push_back(static_cast<uint32_t>(end - start));
      start = end;
    }
  }

  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t size() const override { return vocab_.size(); }
  std::string kind() const override { return "WordPiece"; }

 private:
  Vocab vocab_;
  std::string unk_token_;
  std::string prefix_;
  int64_t max_chars_ = 100;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece_model(const Json& j) { return std::make_unique<WordPieceModel>(j); }

}  // namespace peft::hf
