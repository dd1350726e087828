#include "data/examples.h"

#include <algorithm>

#include "core/error.h"

namespace peft {

namespace {

[[noreturn]] void fail_at(const std::string& path, int64_t line, const std::string& problem) {
  fail("data", path + ":" + std::to_string(line) + ": " + problem);
}

void append(Example& e, const std::vector<int32_t>& ids, bool scored) {
  e.tokens.insert(e.tokens.end(), ids.begin(), ids.end());
  e.scored.insert(e.scored.end(), ids.size(), scored ? 1 : 0);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

ExampleBuilder::ExampleBuilder(const Tokenizer& tok, const ChatTemplate* chat, ExampleOptions opt)
    : tok_(tok), chat_(chat), opt_(opt) {
  render_opt_.now = opt_.now ? *opt_.now : std::chrono::system_clock::now();
  // Templates write bos_token / eos_token as text; the tokenizer's special
  // splitting turns that text back into the token. A tokenizer_config.json
  // that came with the template names them itself.
  if (chat_ && !chat_->bos_token().empty()) bos_text_ = chat_->bos_token();
  else if (tok_.bos_id() >= 0) bos_text_ = tok_.token_text(tok_.bos_id());
  if (chat_ && !chat_->eos_token().empty()) eos_text_ = chat_->eos_token();
  else if (tok_.eos_id() >= 0) eos_text_ = tok_.token_text(tok_.eos_id());
}

bool ExampleBuilder::add_bos() const { return tok_.bos_id() >= 0 && tok_.adds_bos(); }

Example ExampleBuilder::build(const Record& r, const std::string& path) const {
  Example e;
  switch (r.kind) {
    case RecordKind::Text: e = build_text(r); break;
    case RecordKind::PromptCompletion: e = build_prompt_completion(r); break;
    case RecordKind::Messages: e = build_messages(r, path); break;
  }
  e.line = r.line;
  if (opt_.train_on_prompt) std::fill(e.scored.begin(), e.scored.end(), 1);
  if (!e.scored.empty()) e.scored[0] = 0;
  return e;
}

Example ExampleBuilder::build_text(const Record& r) const {
  Example e;
  if (add_bos()) append(e, {tok_.bos_id()}, false);
  append(e, tok_.encode(r.text, false), true);
  if (opt_.add_eos && tok_.eos_id() >= 0) append(e, {tok_.eos_id()}, true);
  return e;
}

Example ExampleBuilder::build_prompt_completion(const Record& r) const {
  // Prompt and completion are tokenized separately and concatenated, as most
  // fine-tuning trainers do: it keeps the mask boundary on a token boundary.
  // The ids at the seam can differ from tokenizing the joined string (a
  // SentencePiece vocabulary also gives the completion its own leading
  // space marker), which the model learns as the prompt/answer separator.
  Example e;
  if (add_bos()) append(e, {tok_.bos_id()}, false);
  append(e, tok_.encode(r.prompt, false), false);
  append(e, tok_.encode(r.completion, false), true);
  if (opt_.add_eos && tok_.eos_id() >= 0) append(e, {tok_.eos_id()}, true);
  return e;
}

std::string ExampleBuilder::render(const nlohmann::ordered_json& messages, bool generation_prompt) const {
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = messages;
  ctx["add_generation_prompt"] = generation_prompt;
  ctx["bos_token"] = bos_text_;
  ctx["eos_token"] = eos_text_;
  return chat_->render(ctx, render_opt_);
}

Example ExampleBuilder::build_messages(const Record& r, const std::string& path) const {
  if (!chat_) fail_at(path, r.line, "messages records need a chat template");
  const nlohmann::ordered_json& msgs = r.messages;
  // Renders, reporting a template error with the record's line.
  auto render_at = [&](const nlohmann::ordered_json& m, bool gp) {
    try {
      return render(m, gp);
    } catch (const InputError& e) {
      fail_at(path, r.line, std::string("cannot render the conversation: ") + e.what());
    }
  };
  const std::string full = render_at(msgs, false);
  const std::string cannot_locate =
      " differently from the whole conversation, so the assistant turn cannot be located"
      " (try --chat-template chatml, or --train-on-prompt)";

  // Character ranges [begin, end) of the assistant turns in `full`, found by
  // rendering each conversation prefix: the text the template writes for
  // messages[0..i) plus the generation prompt ends where the reply starts,
  // and the rendering of messages[0..i] ends where it stops. Both must be
  // prefixes of the whole rendering for the ranges to mean anything.
  std::vector<std::pair<size_t, size_t>> turns;
  if (!opt_.train_on_prompt) {
    for (size_t i = 0; i < msgs.size(); ++i) {
      if (msgs[i].at("role") != "assistant") continue;
      nlohmann::ordered_json before = nlohmann::ordered_json::array();
      for (size_t j = 0; j < i; ++j) before.push_back(msgs[j]);
      nlohmann::ordered_json through = before;
      through.push_back(msgs[i]);
      size_t begin = 0;
      if (i == 0) {
        // A conversation that opens with an assistant turn: templates may
        // refuse an empty prefix, and then the turn is scored from the start.
        try {
          std::string head = render(before, true);
          if (starts_with(full, head)) begin = head.size();
        } catch (const InputError&) {
        }
      } else {
        std::string head = render_at(before, true);
        if (!starts_with(full, head)) {
          // Some templates' generation prompt differs from how a finished
          // assistant turn starts; the prefix without it is the next best cut.
          head = render_at(before, false);
          if (!starts_with(full, head))
            fail_at(path, r.line, "the chat template renders the conversation before message " + std::to_string(i) +
                                      cannot_locate);
        }
        begin = head.size();
      }
      std::string upto = render_at(through, false);
      if (!starts_with(full, upto))
        fail_at(path, r.line, "the chat template renders the conversation up to message " + std::to_string(i) +
                                  cannot_locate);
      if (upto.size() > begin) turns.emplace_back(begin, upto.size());
    }
  }

  // Tokenize the whole rendering once (the ids the model will see), and map
  // each character cut to the number of leading tokens that lie wholly
  // before it: the common prefix of encode(full[0, cut)) and encode(full).
  // A token that straddles a cut falls after it.
  std::vector<int32_t> ids = tok_.encode(full, false);
  auto token_cut = [&](size_t chars) -> size_t {
    if (chars == 0) return 0;
    if (chars >= full.size()) return ids.size();
    std::vector<int32_t> head = tok_.encode(std::string_view(full).substr(0, chars), false);
    size_t k = 0;
    while (k < head.size() && k < ids.size() && head[k] == ids[k]) ++k;
    return k;
  };
  Example e;
  bool bos = add_bos() && (ids.empty() || ids[0] != tok_.bos_id());
  if (bos) append(e, {tok_.bos_id()}, false);
  size_t off = e.tokens.size();
  append(e, ids, false);
  for (const auto& [b, en] : turns) {
    size_t tb = token_cut(b), te = token_cut(en);
    for (size_t k = tb; k < te; ++k) e.scored[off + k] = 1;
  }
  return e;
}

}  // namespace peft
