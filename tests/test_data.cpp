// JSONL training data: reading and reporting bad lines, record kinds and
// field mapping (GSM8K), loss masks per kind with the real stories260K
// tokenizer, chat rendering (built-ins and Qwen2.5's template) with
// assistant-only masks, packing invariants, resume, and `peft train` on a
// small GSM8K file end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "data/chat_format.h"
#include "data/examples.h"
#include "data/jsonl.h"
#include "data/packed_examples.h"
#include "data/packing.h"
#include "data/records.h"
#include "io/gguf.h"
#include "model/llama.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/pretrained.h"
#include "train/training_data.h"

using namespace peft;
using peft::test::read_file;
using peft::test::shared_path;
using peft::test::temp_dir;
using peft::test::write_file;

namespace {

const Tokenizer& stories_tok() {
  static std::shared_ptr<GgufFile> file = GgufFile::open(shared_path("models/stories260K.gguf"));
  static std::unique_ptr<Tokenizer> tok = load_gguf_tokenizer(*file);
  return *tok;
}

// The first n lines of GSM8K's training file.
std::string gsm8k_lines(int n) {
  std::istringstream in(read_file(shared_path("data/gsm8k/train.jsonl")));
  std::string line, out;
  for (int i = 0; i < n && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// The maximal runs of scored tokens of an example, each as its token ids.
std::vector<std::vector<int32_t>> scored_runs(const Example& e) {
  std::vector<std::vector<int32_t>> runs;
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    if (!e.scored[i]) continue;
    if (i == 0 || !e.scored[i - 1]) runs.emplace_back();
    runs.back().push_back(e.tokens[i]);
  }
  return runs;
}

std::vector<int32_t> cat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Record prompt_completion(std::string p, std::string c) {
  Record r;
  r.kind = RecordKind::PromptCompletion;
  r.prompt = std::move(p);
  r.completion = std::move(c);
  r.line = 1;
  return r;
}

Record conversation(nlohmann::ordered_json messages) {
  Record r;
  r.kind = RecordKind::Messages;
  r.messages = std::move(messages);
  r.line = 1;
  return r;
}

nlohmann::ordered_json two_turns(bool with_system) {
  nlohmann::ordered_json m = nlohmann::ordered_json::array();
  if (with_system) m.push_back({{"role", "system"}, {"content", "You tell short stories."}});
  m.push_back({{"role", "user"}, {"content", "Tell me about a cat."}});
  m.push_back({{"role", "assistant"}, {"content", "The cat sat on the mat."}});
  m.push_back({{"role", "user"}, {"content", "And then?"}});
  m.push_back({{"role", "assistant"}, {"content", "It fell asleep in the sun."}});
  return m;
}

// ---- JSONL reading ----

TEST(Jsonl, SkipsBlankLinesAndKeepsLineNumbers) {
  auto recs = parse_jsonl("{\"text\": \"a\"}\n\n   \n{\"text\": \"b\"}\r\n{\"text\": \"c\"}", "x.jsonl");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].line, 1);
  EXPECT_EQ(recs[1].line, 4);
  EXPECT_EQ(recs[2].line, 5);
  EXPECT_EQ(recs[2].value["text"], "c");
}

TEST(Jsonl, MalformedLinesNameFileAndLine) {
  std::string e = error_of([] { parse_jsonl("{\"text\": \"a\"}\n\n{\"text\": \"b\"\n", "bad.jsonl"); });
  EXPECT_EQ(e.rfind("[data] bad.jsonl:3: not valid JSON", 0), 0u) << e;
  e = error_of([] { parse_jsonl("{\"text\": \"a\"}\n[1, 2]\n", "bad.jsonl"); });
  EXPECT_EQ(e.rfind("[data] bad.jsonl:2: ", 0), 0u) << e;
  EXPECT_NE(e.find("expected a JSON object"), std::string::npos) << e;
  e = error_of([] { parse_jsonl("\"just a string\"\n", "bad.jsonl"); });
  EXPECT_EQ(e.rfind("[data] bad.jsonl:1: ", 0), 0u) << e;
  // Invalid UTF-8 inside a string is not JSON either.
  e = error_of([] { parse_jsonl("{\"text\": \"ok\"}\n{\"text\": \"\xff\"}\n", "bad.jsonl"); });
  EXPECT_EQ(e.rfind("[data] bad.jsonl:2: not valid JSON", 0), 0u) << e;
}

TEST(Jsonl, ReadsAJsonArrayFile) {
  auto recs = parse_jsonl("[\n {\"text\": \"a\"},\n {\"text\": \"b\"}\n]\n", "x.json");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].line, 2);
  std::string e = error_of([] { parse_jsonl("[{\"text\": \"a\"}, 3]", "x.json"); });
  EXPECT_EQ(e.rfind("[data] x.json:2: ", 0), 0u) << e;
}

TEST(Jsonl, MissingFileIsAnInputError) {
  EXPECT_THROW(read_jsonl("/nonexistent/data.jsonl"), InputError);
}

// ---- Record kinds ----

std::vector<Record> records_of(const std::string& text, const FieldNames& names = {}) {
  std::string dir = temp_dir("data_records");
  write_file(dir + "/d.jsonl", text);
  return read_records(dir + "/d.jsonl", names);
}

TEST(Records, DetectsEachKind) {
  EXPECT_EQ(records_of("{\"text\": \"hi\"}\n")[0].kind, RecordKind::Text);
  auto pc = records_of("{\"prompt\": \"p\", \"completion\": \"c\"}\n");
  EXPECT_EQ(pc[0].kind, RecordKind::PromptCompletion);
  EXPECT_EQ(pc[0].prompt, "p");
  EXPECT_EQ(pc[0].completion, "c");
  auto m = records_of("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
  EXPECT_EQ(m[0].kind, RecordKind::Messages);
  EXPECT_EQ(m[0].messages.size(), 1u);
}

TEST(Records, ReportsRecordsThatDoNotMatch) {
  auto err = [](const std::string& text) { return error_of([&] { records_of(text); }); };
  // A later record of another kind.
  std::string e = err("{\"prompt\": \"p\", \"completion\": \"c\"}\n{\"text\": \"t\"}\n");
  EXPECT_NE(e.find("d.jsonl:2: missing field \"prompt\""), std::string::npos) << e;
  // Wrong types.
  e = err("{\"text\": \"a\"}\n\n{\"text\": 5}\n");
  EXPECT_NE(e.find("d.jsonl:3: field \"text\" is a number, expected a string"), std::string::npos) << e;
  e = err("{\"messages\": \"hello\"}\n");
  EXPECT_NE(e.find("d.jsonl:1: field \"messages\" is a string, expected an array"), std::string::npos) << e;
  e = err("{\"messages\": [{\"role\": \"user\"}]}\n");
  EXPECT_NE(e.find("d.jsonl:1: message 0 has no \"content\""), std::string::npos) << e;
  e = err("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": 1, \"content\": \"b\"}]}\n");
  EXPECT_NE(e.find("d.jsonl:1: message 1: \"role\" is a number"), std::string::npos) << e;
  // No known field: the message names what it looked for and what it found.
  e = err("{\"question\": \"q\", \"answer\": \"a\"}\n");
  EXPECT_NE(e.find("d.jsonl:1: cannot tell the record kind"), std::string::npos) << e;
  EXPECT_NE(e.find("\"question\""), std::string::npos) << e;
  e = err("{\"prompt\": \"q\"}\n");
  EXPECT_NE(e.find("d.jsonl:1: has \"prompt\" but no \"completion\""), std::string::npos) << e;
  // An empty file.
  e = err("\n\n");
  EXPECT_NE(e.find("holds no records"), std::string::npos) << e;
}

TEST(Records, Gsm8kFieldMapping) {
  FieldNames n;
  n.prompt = "question";
  n.completion = "answer";
  auto recs = records_of(gsm8k_lines(20), n);
  ASSERT_EQ(recs.size(), 20u);
  EXPECT_EQ(recs[0].kind, RecordKind::PromptCompletion);
  EXPECT_EQ(recs[0].prompt.rfind("Natalia sold clips to 48 of her friends in April", 0), 0u);
  EXPECT_NE(recs[0].completion.find("#### 72"), std::string::npos);
  EXPECT_EQ(recs[19].line, 20);
}

// ---- Loss masks ----

TEST(Masks, TextScoresEverythingButTheFirstToken) {
  const Tokenizer& tok = stories_tok();
  ExampleBuilder b(tok, nullptr, {});
  Record r;
  r.kind = RecordKind::Text;
  r.text = "Once upon a time there was a little dog.";
  Example e = b.build(r, "x");
  std::vector<int32_t> want = cat({{tok.bos_id()}, tok.encode(r.text, false), {tok.eos_id()}});
  EXPECT_EQ(e.tokens, want);
  ASSERT_EQ(e.scored.size(), e.tokens.size());
  EXPECT_EQ(e.scored[0], 0);
  for (size_t i = 1; i < e.scored.size(); ++i) EXPECT_EQ(e.scored[i], 1) << i;

  ExampleOptions no_eos;
  no_eos.add_eos = false;
  Example f = ExampleBuilder(tok, nullptr, no_eos).build(r, "x");
  EXPECT_EQ(f.tokens.size(), e.tokens.size() - 1);
}

TEST(Masks, PromptCompletionScoresOnlyTheCompletionAndEos) {
  const Tokenizer& tok = stories_tok();
  Record r = prompt_completion("What did the dog do?", "The dog ran to the park.");
  Example e = ExampleBuilder(tok, nullptr, {}).build(r, "x");
  std::vector<int32_t> p = tok.encode(r.prompt, false), c = tok.encode(r.completion, false);
  EXPECT_EQ(e.tokens, cat({{tok.bos_id()}, p, c, {tok.eos_id()}}));
  for (size_t i = 0; i < e.tokens.size(); ++i) EXPECT_EQ(e.scored[i], i >= 1 + p.size() ? 1 : 0) << i;
  auto runs = scored_runs(e);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], cat({c, {tok.eos_id()}}));

  ExampleOptions all;
  all.train_on_prompt = true;
  Example f = ExampleBuilder(tok, nullptr, all).build(r, "x");
  EXPECT_EQ(f.tokens, e.tokens);
  EXPECT_EQ(f.scored[0], 0);
  EXPECT_EQ(f.n_scored(), static_cast<int64_t>(f.tokens.size()) - 1);
}

TEST(Masks, Gsm8kExamplesScoreTheAnswer) {
  const Tokenizer& tok = stories_tok();
  FieldNames n;
  n.prompt = "question";
  n.completion = "answer";
  auto recs = records_of(gsm8k_lines(5), n);
  ExampleBuilder b(tok, nullptr, {});
  for (const Record& r : recs) {
    Example e = b.build(r, "gsm8k");
    auto runs = scored_runs(e);
    ASSERT_EQ(runs.size(), 1u);
    ASSERT_EQ(runs[0].back(), tok.eos_id());
    runs[0].pop_back();
    EXPECT_EQ(tok.decode(runs[0]), r.completion);
    EXPECT_EQ(e.line, r.line);
  }
}

// Decoded text of each scored run (special tokens kept).
std::vector<std::string> scored_texts(const Tokenizer& tok, const Example& e) {
  std::vector<std::string> out;
  for (const auto& run : scored_runs(e)) out.push_back(tok.decode(run, false));
  return out;
}

TEST(Masks, ChatmlScoresAssistantTurnsOnly) {
  const Tokenizer& tok = stories_tok();
  ChatTemplate t = resolve_chat_template("chatml", std::nullopt);
  ExampleBuilder b(tok, &t, {});
  Example e = b.build(conversation(two_turns(true)), "x");
  // The ids are the tokenization of the whole rendering, BOS first.
  std::string full =
      "<|im_start|>system\nYou tell short stories.<|im_end|>\n<|im_start|>user\nTell me about a cat.<|im_end|>\n"
      "<|im_start|>assistant\nThe cat sat on the mat.<|im_end|>\n<|im_start|>user\nAnd then?<|im_end|>\n"
      "<|im_start|>assistant\nIt fell asleep in the sun.<|im_end|>\n";
  EXPECT_EQ(e.tokens, cat({{tok.bos_id()}, tok.encode(full, false)}));
  auto texts = scored_texts(tok, e);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0], "The cat sat on the mat.<|im_end|>\n");
  EXPECT_EQ(texts[1], "It fell asleep in the sun.<|im_end|>\n");

  ExampleOptions all;
  all.train_on_prompt = true;
  Example f = ExampleBuilder(tok, &t, all).build(conversation(two_turns(true)), "x");
  EXPECT_EQ(f.tokens, e.tokens);
  EXPECT_EQ(f.n_scored(), static_cast<int64_t>(f.tokens.size()) - 1);
}

TEST(Masks, Llama2TemplateScoresRepliesWithEos) {
  const Tokenizer& tok = stories_tok();
  ChatTemplate t = resolve_chat_template("llama-2", std::nullopt);
  Example e = ExampleBuilder(tok, &t, {}).build(conversation(two_turns(true)), "x");
  // The template writes BOS itself; none is added in front of it.
  ASSERT_GE(e.tokens.size(), 2u);
  EXPECT_EQ(e.tokens[0], tok.bos_id());
  EXPECT_NE(e.tokens[1], tok.bos_id());
  auto runs = scored_runs(e);
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) EXPECT_EQ(run.back(), tok.eos_id());
  auto texts = scored_texts(tok, e);
  EXPECT_NE(texts[0].find("The cat sat on the mat."), std::string::npos) << texts[0];
  EXPECT_EQ(texts[0].find("[INST]"), std::string::npos) << texts[0];
  EXPECT_NE(texts[1].find("It fell asleep in the sun."), std::string::npos) << texts[1];
  // The rendering itself, as Llama-2 chat formats it.
  nlohmann::ordered_json ctx{{"messages", two_turns(true)}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  EXPECT_EQ(t.render(ctx),
            "<s>[INST] <<SYS>>\nYou tell short stories.\n<</SYS>>\n\nTell me about a cat. [/INST] The cat sat on the "
            "mat. </s><s>[INST] And then? [/INST] It fell asleep in the sun. </s>");
  // Turns out of order are refused, with the record's line.
  nlohmann::ordered_json bad = nlohmann::ordered_json::array();
  bad.push_back({{"role", "user"}, {"content", "a"}});
  bad.push_back({{"role", "user"}, {"content", "b"}});
  Record r = conversation(bad);
  r.line = 7;
  std::string err = error_of([&] { ExampleBuilder(tok, &t, {}).build(r, "chat.jsonl"); });
  EXPECT_NE(err.find("[data] chat.jsonl:7: cannot render the conversation"), std::string::npos) << err;
}

TEST(Masks, Qwen25TemplateScoresAssistantTurnsOnly) {
  const Tokenizer& tok = stories_tok();
  ChatTemplate t = ChatTemplate::from_file(shared_path("hf/qwen2.5-instruct/tokenizer_config.json"));
  ExampleBuilder b(tok, &t, {});
  for (bool with_system : {true, false}) {
    Example e = b.build(conversation(two_turns(with_system)), "x");
    auto texts = scored_texts(tok, e);
    ASSERT_EQ(texts.size(), 2u);
    EXPECT_EQ(texts[0], "The cat sat on the mat.<|im_end|>\n");
    EXPECT_EQ(texts[1], "It fell asleep in the sun.<|im_end|>\n");
    // Everything else (system prompt, default or given, user turns, the
    // assistant headers) is context only.
    std::string unscored;
    for (size_t i = 0; i < e.tokens.size(); ++i) {
      std::vector<int32_t> run;
      while (i < e.tokens.size() && !e.scored[i]) run.push_back(e.tokens[i++]);
      unscored += tok.decode(run, false) + "|";
    }
    EXPECT_NE(unscored.find("<|im_start|>user\nTell me about a cat.<|im_end|>"), std::string::npos) << unscored;
    EXPECT_NE(unscored.find("<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n|"), std::string::npos)
        << unscored;
    EXPECT_NE(unscored.find(with_system ? "You tell short stories." : "You are Qwen, created by Alibaba Cloud."),
              std::string::npos)
        << unscored;
    EXPECT_EQ(texts[0].find("assistant"), std::string::npos);
  }
}

TEST(Masks, ModelTemplateIsTheDefaultAndChatmlTheFallback) {
  ChatTemplate qwen = ChatTemplate::from_file(shared_path("hf/qwen2.5-instruct/tokenizer_config.json"));
  EXPECT_EQ(resolve_chat_template("", qwen).source(), qwen.source());
  EXPECT_EQ(resolve_chat_template("", std::nullopt).source(), builtin_chat_template("chatml"));
  EXPECT_EQ(resolve_chat_template("llama-2", qwen).source(), builtin_chat_template("llama-2"));
  EXPECT_EQ(resolve_chat_template(shared_path("hf/qwen2.5-instruct/tokenizer_config.json"), std::nullopt).source(),
            qwen.source());
  std::string e = error_of([] { resolve_chat_template("no-such-template", std::nullopt); });
  EXPECT_NE(e.find("[data] chat template 'no-such-template'"), std::string::npos) << e;
}

TEST(Masks, TemplatesSeeOneFixedTime) {
  // A template that writes today's date (as Llama 3.2's does) sees the
  // builder's one time point in every prefix rendering.
  ChatTemplate t = ChatTemplate::from_string(
      "{{ 'Date: ' + strftime_now('%d %b %Y') + '\\n' }}{% for m in messages %}{{ m.role + ': ' + m.content + '\\n' }}"
      "{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}",
      "dated");
  ExampleOptions o;
  o.now = std::chrono::system_clock::from_time_t(86400 * 365);  // 1 Jan 1971
  const Tokenizer& tok = stories_tok();
  Example e = ExampleBuilder(tok, &t, o).build(conversation(two_turns(false)), "x");
  EXPECT_NE(tok.decode(e.tokens, false).find("Date: 01 Jan 1971\n"), std::string::npos) << tok.decode(e.tokens, false);
  auto texts = scored_texts(tok, e);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0], "The cat sat on the mat.\n");
}

TEST(Masks, InconsistentTemplateIsReported) {
  // A template that prints the number of messages first: no prefix of the
  // conversation renders as a prefix of the whole.
  ChatTemplate t = ChatTemplate::from_string(
      "{{ messages | length }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}", "counting");
  Record r = conversation(two_turns(false));
  r.line = 3;
  std::string e = error_of([&] { ExampleBuilder(stories_tok(), &t, {}).build(r, "c.jsonl"); });
  EXPECT_NE(e.find("[data] c.jsonl:3: the chat template renders the conversation"), std::string::npos) << e;
  // With every token scored no turn needs locating.
  ExampleOptions all;
  all.train_on_prompt = true;
  EXPECT_NO_THROW(ExampleBuilder(stories_tok(), &t, all).build(r, "c.jsonl"));
}

// ---- Packing ----

std::vector<Example> gsm8k_examples(int n, int64_t seq_len, PrepareStats* st = nullptr) {
  FieldNames names;
  names.prompt = "question";
  names.completion = "answer";
  auto recs = records_of(gsm8k_lines(n), names);
  ExampleBuilder b(stories_tok(), nullptr, {});
  std::vector<Example> ex;
  for (const Record& r : recs) ex.push_back(b.build(r, "gsm8k"));
  PrepareStats s = prepare_examples(ex, seq_len);
  if (st) *st = s;
  return ex;
}

TEST(Packing, PrepareTruncatesAndDropsWhatScoresNothing) {
  const Tokenizer& tok = stories_tok();
  ExampleBuilder b(tok, nullptr, {});
  std::vector<Example> ex;
  ex.push_back(b.build(prompt_completion("short", "answer"), "x"));
  ex.push_back(b.build(prompt_completion("a much longer question about many many things", "yes"), "x"));
  ex.push_back(b.build(prompt_completion("q", "a very long answer that goes on and on and on"), "x"));
  // The first fits exactly; the second's prompt alone is longer than a row;
  // the third is cut inside its completion.
  const int64_t seq_len = static_cast<int64_t>(ex[0].tokens.size()) - 1;
  const int64_t prompt1 = 1 + static_cast<int64_t>(tok.encode("a much longer question about many many things", false).size());
  const int64_t prompt2 = 1 + static_cast<int64_t>(tok.encode("q", false).size());
  ASSERT_GT(prompt1, seq_len + 1);
  ASSERT_LT(prompt2, seq_len);
  ASSERT_GT(static_cast<int64_t>(ex[2].tokens.size()), seq_len + 1);
  std::vector<int32_t> head2(ex[2].tokens.begin(), ex[2].tokens.begin() + seq_len + 1);
  PrepareStats st = prepare_examples(ex, seq_len);
  EXPECT_EQ(st.truncated, 2);
  EXPECT_EQ(st.dropped, 1);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].tokens.size(), static_cast<size_t>(seq_len + 1));
  EXPECT_EQ(ex[1].tokens, head2);
  EXPECT_EQ(ex[1].scored.size(), head2.size());
  EXPECT_EQ(ex[1].n_scored(), seq_len + 1 - prompt2);
}

// Checks one epoch of rows drawn from `src` against its examples.
void check_epoch(PackedExamples& src, int64_t B) {
  const auto& ex = src.examples();
  int64_t rows = src.packing().rows();
  ASSERT_EQ(rows % B, 0);
  std::vector<std::vector<int32_t>> seen;  // reconstructed examples
  int64_t scored = 0;
  const int64_t T = src.seq_len();
  for (int64_t k = 0; k < rows / B; ++k) {
    Batch b = src.next_batch(B);
    ASSERT_EQ(b.B, B);
    ASSERT_EQ(b.T, T);
    ASSERT_EQ(b.segments.size(), static_cast<size_t>(B * T));
    scored += b.scored();
    for (int64_t r = 0; r < B; ++r) {
      const int32_t* tok = b.tokens.data() + r * T;
      const int32_t* tgt = b.targets.data() + r * T;
      const int32_t* pos = b.positions.data() + r * T;
      const int32_t* seg = b.segments.data() + r * T;
      std::vector<int32_t> used_segments;
      for (int64_t t = 0; t < T;) {
        // One segment: contiguous, positions 0, 1, ..., an id not used before in the row.
        int64_t s = t;
        EXPECT_EQ(std::count(used_segments.begin(), used_segments.end(), seg[s]), 0) << "segment reused in row";
        used_segments.push_back(seg[s]);
        while (t < T && seg[t] == seg[s]) {
          EXPECT_EQ(pos[t], t - s);
          ++t;
        }
        // Reconstruct the example: the inputs, then the last target.
        std::vector<int32_t> seq(tok + s, tok + t);
        if (tgt[t - 1] >= 0) seq.push_back(tgt[t - 1]);
        // Inside a segment each target is the next input or unscored.
        for (int64_t i = s; i + 1 < t; ++i) {
          if (tgt[i] >= 0) {
            EXPECT_EQ(tgt[i], tok[i + 1]);
          }
        }
        bool padding = std::all_of(tgt + s, tgt + t, [](int32_t v) { return v < 0; });
        if (padding) {
          EXPECT_EQ(t, T) << "padding only at the end of a row";
          continue;
        }
        seen.push_back(seq);
      }
    }
  }
  // Every example appears exactly once, with all its scored tokens.
  std::vector<std::vector<int32_t>> want;
  int64_t want_scored = 0;
  for (const Example& e : ex) {
    want.push_back(e.tokens);
    want_scored += e.n_scored();
  }
  std::sort(seen.begin(), seen.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(seen, want);
  EXPECT_EQ(scored, want_scored);
}

TEST(Packing, EveryScoredTokenOnceAndNoTargetCrossesExamples) {
  PrepareStats st;
  std::vector<Example> ex = gsm8k_examples(150, 512, &st);
  EXPECT_GT(st.truncated, 0) << "some GSM8K examples exceed 513 stories260K tokens";
  for (const Example& e : ex) ASSERT_EQ(e.scored.back(), 1) << "the data's examples end in a scored token";
  // Rows per epoch for B = 1, so an epoch is drawn exactly.
  PackedExamples src(ex, 512, 5, stories_tok().eos_id());
  EXPECT_EQ(src.seq_len(), 512);
  EXPECT_LT(src.rows_per_epoch(), static_cast<int64_t>(ex.size())) << "short examples share rows";
  check_epoch(src, 1);
  // The next epoch: a new order and packing, the same invariants.
  Batch one = src.next_batch(1);
  EXPECT_EQ(src.epoch(), 1);
  PackedExamples again(ex, 512, 5, stories_tok().eos_id());
  again.restore({1, 0, 0, 0});
  check_epoch(again, 1);
  EXPECT_NE(again.packing().order, PackedExamples(ex, 512, 5, 0).packing().order) << "epochs are shuffled";
}

TEST(Packing, ShuffleDependsOnSeedOnly) {
  std::vector<Example> ex = gsm8k_examples(60, 256);
  PackedExamples a(ex, 256, 1, 0), b(ex, 256, 1, 0), c(ex, 256, 2, 0);
  EXPECT_EQ(a.packing().order, b.packing().order);
  EXPECT_EQ(a.packing().starts, b.packing().starts);
  EXPECT_NE(a.packing().order, c.packing().order);
  std::vector<int64_t> sorted = a.packing().order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], static_cast<int64_t>(i));
}

TEST(Packing, ShortDataUsesShortRows) {
  ExampleBuilder b(stories_tok(), nullptr, {});
  std::vector<Example> ex{b.build(prompt_completion("Hi", "Hello there."), "x")};
  prepare_examples(ex, 256);
  PackedExamples src(ex, 256, 0, 0);
  EXPECT_EQ(src.seq_len(), static_cast<int64_t>(ex[0].tokens.size()) - 1);
  Batch bt = src.next_batch(3);  // three rows from a one-row epoch: wraps twice
  EXPECT_EQ(src.epoch(), 2);
  EXPECT_EQ(bt.scored(), 3 * ex[0].n_scored());
}

TEST(Packing, ResumeDrawsTheSameBatches) {
  std::vector<Example> ex = gsm8k_examples(40, 128);
  PackedExamples a(ex, 128, 11, 0);
  for (int k = 0; k < 3; ++k) a.next_batch(4);
  DataPosition pos = a.position();
  std::vector<Batch> rest;
  for (int k = 0; k < 12; ++k) rest.push_back(a.next_batch(4));
  ASSERT_GT(a.epoch(), pos.epoch) << "the draws after the save cross an epoch";

  PackedExamples b(ex, 128, 11, 0);
  b.restore(pos);
  for (int k = 0; k < 12; ++k) {
    Batch x = b.next_batch(4);
    EXPECT_EQ(x.tokens, rest[k].tokens) << k;
    EXPECT_EQ(x.targets, rest[k].targets) << k;
    EXPECT_EQ(x.positions, rest[k].positions) << k;
    EXPECT_EQ(x.segments, rest[k].segments) << k;
  }
  EXPECT_THROW(b.restore({0, 100000, 0, 0}), InputError);
  EXPECT_THROW(b.restore({-1, 0, 0, 0}), InputError);
}

TEST(Packing, EvalBatchesAreFileOrderAndDeterministic) {
  std::vector<Example> ex = gsm8k_examples(30, 128);
  PackedExamples src(ex, 128, 3, 0);
  auto e1 = src.eval_batches(4, 0);
  src.next_batch(4);
  auto e2 = src.eval_batches(4, 0);
  ASSERT_EQ(e1.size(), e2.size());
  int64_t rows = 0, scored = 0, want = 0;
  for (size_t i = 0; i < e1.size(); ++i) {
    EXPECT_EQ(e1[i].tokens, e2[i].tokens);
    rows += e1[i].B;
    scored += e1[i].scored();
  }
  for (const Example& e : ex) want += e.n_scored();
  EXPECT_EQ(scored, want);
  // The first row starts with the first example.
  EXPECT_TRUE(std::equal(ex[0].tokens.begin(), ex[0].tokens.end() - 1, e1[0].tokens.begin()));
  auto capped = src.eval_batches(4, 3);
  ASSERT_EQ(capped.size(), 1u);
  EXPECT_EQ(capped[0].B, 3);
  EXPECT_GT(rows, 3);
}

TEST(Packing, PackedLossEqualsTheExamplesAlone) {
  // With segments and restarted positions, a packed row must score each
  // example exactly as if it were alone: the model's summed loss over the
  // row equals the sum of its losses over each example by itself.
  auto file = GgufFile::open(shared_path("models/stories260K.gguf"));
  auto model = load_llama_gguf<float>(*file);
  ExampleBuilder b(stories_tok(), nullptr, {});
  std::vector<Example> ex{b.build(prompt_completion("Lily had a red ball.", "She played with it all day."), "x"),
                          b.build(prompt_completion("Tom saw a big dog.", "The dog was happy and ran."), "x"),
                          b.build(prompt_completion("The sun", "was warm."), "x")};
  prepare_examples(ex, 512);
  ASSERT_EQ(ex.size(), 3u);
  PackedExamples packed(ex, 512, 0, stories_tok().eos_id());
  ASSERT_EQ(packed.rows_per_epoch(), 1);
  Batch row = packed.next_batch(1);
  double together = model->forward_loss(row);
  double alone = 0;
  for (const Example& e : ex) {
    PackedExamples one({e}, 512, 0, 0);
    Batch x = one.next_batch(1);
    x.segments.clear();  // a single example needs no segments
    alone += model->forward_loss(x);
  }
  EXPECT_NEAR(together, alone, 1e-4 * std::abs(alone));
  // Without segments the later examples would see the earlier ones.
  Batch leaky = row;
  leaky.segments.clear();
  EXPECT_GT(std::abs(model->forward_loss(leaky) - alone), 1e-3 * std::abs(alone));
}

// ---- load_training_data ----

TEST(TrainingData, JsonlWithEvalSplitAndEvalFile) {
  const Tokenizer& tok = stories_tok();
  std::string dir = temp_dir("data_load");
  write_file(dir + "/train.jsonl", gsm8k_lines(20));
  DataOptions o;
  o.seq_len = 4096;  // nothing truncated
  o.prompt_field = "question";
  o.completion_field = "answer";
  o.eval_split = 0.1;
  TrainingData d = load_training_data(dir + "/train.jsonl", tok, o);
  ASSERT_TRUE(d.eval);
  // The eval set is the file's last two records, in order.
  FieldNames names;
  names.prompt = "question";
  names.completion = "answer";
  auto recs = records_of(gsm8k_lines(20), names);
  ExampleBuilder b(tok, nullptr, {});
  Example last = b.build(recs[19], "x"), ninth = b.build(recs[18], "x");
  auto eb = d.eval->eval_batches(8, 0);
  ASSERT_EQ(eb.size(), 1u);
  EXPECT_EQ(eb[0].scored(), last.n_scored() + ninth.n_scored());
  EXPECT_TRUE(std::equal(ninth.tokens.begin(), ninth.tokens.end() - 1, eb[0].tokens.begin()));
  int64_t train_tokens = 0;
  for (int i = 0; i < 18; ++i) train_tokens += static_cast<int64_t>(b.build(recs[i], "x").tokens.size());
  EXPECT_EQ(d.train->tokens(), train_tokens);

  // An eval file instead of the split.
  write_file(dir + "/eval.jsonl", "{\"question\": \"How many?\", \"answer\": \"Two.\"}\n");
  o.eval_path = dir + "/eval.jsonl";
  TrainingData d2 = load_training_data(dir + "/train.jsonl", tok, o);
  ASSERT_TRUE(d2.eval);
  int64_t all_tokens = train_tokens + static_cast<int64_t>(last.tokens.size() + ninth.tokens.size());
  EXPECT_EQ(d2.train->tokens(), all_tokens);
  EXPECT_EQ(d2.eval->tokens(), static_cast<int64_t>(b.build(prompt_completion("How many?", "Two."), "x").tokens.size()));

  // A bad line anywhere in the file fails the load with its line number.
  write_file(dir + "/bad.jsonl", gsm8k_lines(3) + "{\"question\": \"q\"}\n");
  std::string e = error_of([&] { load_training_data(dir + "/bad.jsonl", tok, o); });
  EXPECT_NE(e.find("bad.jsonl:4: missing field \"answer\""), std::string::npos) << e;
}

TEST(TrainingData, ChatJsonlUsesTheChosenTemplate) {
  const Tokenizer& tok = stories_tok();
  std::string dir = temp_dir("data_chat");
  nlohmann::json line{{"messages", two_turns(false)}};
  write_file(dir + "/chat.jsonl", line.dump() + "\n" + line.dump() + "\n");
  DataOptions o;
  o.seq_len = 2048;
  o.eval_split = 0;
  o.chat_template = "chatml";
  TrainingData d = load_training_data(dir + "/chat.jsonl", tok, o);
  EXPECT_FALSE(d.eval);
  ChatTemplate t = resolve_chat_template("chatml", std::nullopt);
  Example e = ExampleBuilder(tok, &t, {}).build(conversation(two_turns(false)), "x");
  EXPECT_EQ(d.train->tokens(), 2 * static_cast<int64_t>(e.tokens.size()));
  Batch b = d.train->next_batch(1);
  EXPECT_EQ(b.scored(), 2 * e.n_scored());  // both copies share one row
  o.chat_template = "nonsense";
  EXPECT_THROW(load_training_data(dir + "/chat.jsonl", tok, o), InputError);
}

TEST(TrainingData, ModelChatTemplate) {
  // stories260K has no template of its own.
  Pretrained g;
  g.format = "gguf";
  g.gguf = GgufFile::open(shared_path("models/stories260K.gguf"));
  ASSERT_FALSE(g.gguf->has("tokenizer.chat_template"));
  EXPECT_FALSE(model_chat_template(g).has_value());
  // A Hugging Face directory: its tokenizer_config.json's template, with the
  // special tokens the config names.
  std::string dir = temp_dir("data_hf_template");
  write_file(dir + "/tokenizer_config.json", read_file(shared_path("hf/qwen2.5-instruct/tokenizer_config.json")));
  Pretrained h;
  h.format = "hf";
  h.path = dir;
  auto t = model_chat_template(h);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->source(), ChatTemplate::from_file(shared_path("hf/qwen2.5-instruct/tokenizer_config.json")).source());
  EXPECT_EQ(t->eos_token(), "<|im_end|>");
  // A config without a template: none.
  write_file(dir + "/tokenizer_config.json", "{\"bos_token\": null}");
  EXPECT_FALSE(model_chat_template(h).has_value());
}

// ---- peft train end to end ----

TEST(TrainCli, LoraOnGsm8kJsonl) {
  std::string dir = temp_dir("data_cli");
  write_file(dir + "/gsm8k.jsonl", gsm8k_lines(48));
  auto r = test::run_cli({"train", "--model", shared_path("models/stories260K.gguf"), "--data", dir + "/gsm8k.jsonl",
                          "--prompt-field", "question", "--completion-field", "answer", "--method", "lora",
                          "--targets", "q,v", "--batch-size", "4", "--seq-len", "128", "--steps", "5", "--out",
                          dir + "/out"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream metrics(read_file(dir + "/out/metrics.jsonl"));
  std::string l;
  std::vector<double> losses;
  while (std::getline(metrics, l)) {
    auto j = nlohmann::json::parse(l);
    if (j.contains("step") && j.contains("loss") && j.contains("grad_norm")) losses.push_back(j["loss"].get<double>());
  }
  ASSERT_EQ(losses.size(), 5u) << read_file(dir + "/out/metrics.jsonl");
  for (double x : losses) {
    EXPECT_TRUE(std::isfinite(x));
    EXPECT_GT(x, 0);
  }
  auto s = nlohmann::json::parse(read_file(dir + "/out/summary.json"));
  EXPECT_TRUE(std::isfinite(s["eval_loss_before"].get<double>()));
  EXPECT_TRUE(std::isfinite(s["eval_loss_after"].get<double>()));

  // A malformed line: exit code 2 and the line named.
  write_file(dir + "/bad.jsonl", gsm8k_lines(2) + "{not json}\n");
  r = test::run_cli({"train", "--model", shared_path("models/stories260K.gguf"), "--data", dir + "/bad.jsonl",
                     "--prompt-field", "question", "--completion-field", "answer", "--steps", "1", "--out",
                     dir + "/out2"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("bad.jsonl:3: not valid JSON"), std::string::npos) << r.err;
}

}  // namespace

namespace {

std::vector<double> step_losses(const std::string& metrics_path) {
  std::istringstream metrics(read_file(metrics_path));
  std::string l;
  std::vector<double> losses;
  while (std::getline(metrics, l)) {
    auto j = nlohmann::json::parse(l);
    if (j.contains("step") && j.contains("loss")) losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

TEST(TrainCli, JsonlResumeIsBitIdentical) {
  std::string dir = temp_dir("data_cli_resume");
  write_file(dir + "/gsm8k.jsonl", gsm8k_lines(24));
  std::vector<std::string> common{"train", "--model", shared_path("models/stories260K.gguf"), "--data",
                                  dir + "/gsm8k.jsonl", "--prompt-field", "question", "--completion-field", "answer",
                                  "--batch-size", "2", "--seq-len", "256", "--steps", "6", "--seed", "3",
                                  "--threads", "1", "--eval-split", "0"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return test::run_cli(a);
  };
  auto r = with({"--save-every", "3", "--out", dir + "/a"});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = with({"--resume", dir + "/a/checkpoint-3", "--out", dir + "/b"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<double> a = step_losses(dir + "/a/metrics.jsonl"), b = step_losses(dir + "/b/metrics.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a[3 + i], b[i]) << "step " << 4 + i;
  EXPECT_EQ(read_file(dir + "/a/adapter_model.safetensors"), read_file(dir + "/b/adapter_model.safetensors"));
}

TEST(TrainCli, ChatJsonlWithABuiltInTemplate) {
  std::string dir = temp_dir("data_cli_chat");
  std::string lines;
  for (int i = 0; i < 8; ++i) lines += nlohmann::json{{"messages", two_turns(i % 2 == 0)}}.dump() + "\n";
  write_file(dir + "/chat.jsonl", lines);
  std::vector<std::string> args{"train", "--model", shared_path("models/stories260K.gguf"), "--data", dir + "/chat.jsonl",
                                "--batch-size", "2", "--seq-len", "128", "--steps", "2", "--out", dir + "/out",
                                "--chat-template", "llama-2"};
  auto r = test::run_cli(args);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<double> losses = step_losses(dir + "/out/metrics.jsonl");
  ASSERT_EQ(losses.size(), 2u);
  for (double x : losses) EXPECT_TRUE(std::isfinite(x));
  args.back() = "no-such-template";
  args[args.size() - 3] = dir + "/out2";
  r = test::run_cli(args);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("chat template 'no-such-template'"), std::string::npos) << r.err;
}

}  // namespace
