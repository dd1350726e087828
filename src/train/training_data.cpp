#include "train/training_data.h"

#include "core/error.h"
#include "io/atomic_file.h"

namespace peft {

namespace {

bool is_jsonl(const std::string& path) {
  auto ends = [&](const std::string& s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  return ends(".jsonl") || ends(".json");
}

}  // namespace

std::vector<int32_t> tokenize_stream(const std::string& text, const Tokenizer& tok) {
  std::vector<int32_t> ids = tok.encode(text, false);
  if (tok.bos_id() >= 0) ids.insert(ids.begin(), tok.bos_id());
  return ids;
}

TrainingData load_training_data(const std::string& path, const Tokenizer& tok, const DataOptions& opt) {
  if (is_jsonl(path)) fail("data", "'" + path + "': JSONL training data is not supported yet");
  TrainingData d;
  std::string text = read_file_bytes(path);
  if (text.empty()) fail("data", "'" + path + "' is empty");
  std::vector<int32_t> all = tokenize_stream(text, tok);
  std::vector<int32_t> train, eval;
  if (!opt.eval_path.empty()) {
    train = std::move(all);
    std::string et = read_file_bytes(opt.eval_path);
    if (et.empty()) fail("data", "'" + opt.eval_path + "' is empty");
    eval = tokenize_stream(et, tok);
  } else if (opt.eval_split > 0) {
    split_stream(all, opt.eval_split, tok.bos_id(), train, eval);
  } else {
    train = std::move(all);
  }
  if (train.size() < 2) fail("data", "'" + path + "' has too little text to train on");
  d.train = std::make_unique<TextWindows>(std::move(train), opt.seq_len, opt.sampling, opt.seed);
  if (eval.size() >= 2) d.eval = std::make_unique<TextWindows>(std::move(eval), opt.seq_len, Sampling::Epochs, opt.seed);
  return d;
}

}  // namespace peft
