#include "train/training_data.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "data/chat_format.h"
#include "data/examples.h"
#include "data/packed_examples.h"
#include "data/packing.h"
#include "data/records.h"
#include "io/atomic_file.h"
#include "train/pretrained.h"

namespace peft {

namespace {

bool is_jsonl(const std::string& path) {
  auto ends = [&](const std::string& s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  return ends(".jsonl") || ends(".json");
}

FieldNames field_names(const DataOptions& opt) {
  FieldNames n;
  if (!opt.text_field.empty()) n.text = opt.text_field;
  if (!opt.prompt_field.empty()) n.prompt = opt.prompt_field;
  if (!opt.completion_field.empty()) n.completion = opt.completion_field;
  return n;
}

// Tokenizes records and fits them to seq_len, warning once per set about
// what was cut or dropped.
std::vector<Example> to_examples(const std::vector<Record>& records, size_t begin, size_t end, const ExampleBuilder& b,
                                 const std::string& path, int64_t seq_len, const std::string& what) {
  std::vector<Example> ex;
  ex.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) ex.push_back(b.build(records[i], path));
  size_t total = ex.size();
  PrepareStats st = prepare_examples(ex, seq_len);
  if (st.truncated > 0)
    log_warn(what + ": " + std::to_string(st.truncated) + " of " + std::to_string(total) + " examples are longer than " +
             std::to_string(seq_len + 1) + " tokens (--seq-len + 1) and were truncated");
  if (st.dropped > 0)
    log_warn(what + ": " + std::to_string(st.dropped) + " of " + std::to_string(total) +
             " examples have no token to compute a loss on (empty, or truncated before the completion) and were skipped");
  return ex;
}

int32_t pad_token(const Tokenizer& tok) { return tok.eos_id() >= 0 ? tok.eos_id() : 0; }

TrainingData load_jsonl_data(const std::string& path, const Tokenizer& tok, const DataOptions& opt) {
  FieldNames names = field_names(opt);
  std::vector<Record> train = read_records(path, names);
  std::vector<Record> eval;
  if (!opt.eval_path.empty()) eval = read_records(opt.eval_path, names);

  bool chat = train.front().kind == RecordKind::Messages || (!eval.empty() && eval.front().kind == RecordKind::Messages);
  std::optional<ChatTemplate> tmpl;
  if (chat) tmpl = resolve_chat_template(opt.chat_template, opt.model_chat_template);
  ExampleOptions eo;
  eo.train_on_prompt = opt.train_on_prompt;
  eo.add_eos = opt.add_eos;
  ExampleBuilder builder(tok, tmpl ? &*tmpl : nullptr, eo);
  log_info("data: " + std::to_string(train.size()) + " " + record_kind_name(train.front().kind) + " records in " + path +
           (tmpl ? " (chat template " + tmpl->name() + ")" : ""));

  // The held-out split is the file's last records, taken before any
  // shuffling so it never changes with the seed.
  size_t n_train = train.size();
  if (opt.eval_path.empty() && opt.eval_split > 0) {
    if (opt.eval_split >= 1) fail("data", "the eval split must be between 0 and 1");
    size_t n_eval = static_cast<size_t>(std::llround(static_cast<double>(train.size()) * opt.eval_split));
    n_eval = std::max<size_t>(n_eval, 1);
    if (n_eval >= train.size()) {
      log_warn("data: " + std::to_string(train.size()) + " record(s) are too few to hold some out; no evaluation");
    } else {
      n_train = train.size() - n_eval;
    }
  }

  TrainingData d;
  std::vector<Example> tex = to_examples(train, 0, n_train, builder, path, opt.seq_len, "data");
  std::vector<Example> eex;
  if (!opt.eval_path.empty()) eex = to_examples(eval, 0, eval.size(), builder, opt.eval_path, opt.seq_len, "eval data");
  else if (n_train < train.size()) eex = to_examples(train, n_train, train.size(), builder, path, opt.seq_len, "eval data");
  if (tex.empty()) fail("data", "'" + path + "' has no example with tokens to train on");
  d.train = std::make_unique<PackedExamples>(std::move(tex), opt.seq_len, opt.seed, pad_token(tok));
  if (!eex.empty()) d.eval = std::make_unique<PackedExamples>(std::move(eex), opt.seq_len, opt.seed, pad_token(tok));
  return d;
}

}  // namespace

std::optional<ChatTemplate> model_chat_template(const Pretrained& p) {
  namespace fs = std::filesystem;
  // A template that does not parse only matters for chat data, so it is a
  // warning here rather than a failure for every kind of data.
  try {
    if (p.gguf) {
      std::string src = p.gguf->get_string("tokenizer.chat_template", "");
      if (!src.empty()) return ChatTemplate::from_string(src, "model chat template");
    } else if (p.format == "hf") {
      std::error_code ec;
      fs::path dir(p.path);
      bool has = fs::exists(dir / "chat_template.jinja", ec);
      if (!has && fs::exists(dir / "tokenizer_config.json", ec)) {
        auto cfg = nlohmann::json::parse(read_file_bytes((dir / "tokenizer_config.json").string()), nullptr, false);
        has = cfg.is_object() && cfg.contains("chat_template") && !cfg["chat_template"].is_null();
      }
      if (has) return ChatTemplate::from_file(p.path);
    }
  } catch (const InputError& e) {
    log_warn(std::string("the model's chat template cannot be used (") + e.what() +
             "); chat data falls back to chatml unless --chat-template names one");
  }
  return std::nullopt;
}

std::vector<int32_t> tokenize_stream(const std::string& text, const Tokenizer& tok) {
  std::vector<int32_t> ids = tok.encode(text, false);
  if (tok.bos_id() >= 0) ids.insert(ids.begin(), tok.bos_id());
  return ids;
}

TrainingData load_training_data(const std::string& path, const Tokenizer& tok, const DataOptions& opt) {
  if (is_jsonl(path)) return load_jsonl_data(path, tok, opt);
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
