// Interop proven by llama.cpp's own programs (../shared/bin/llama.cpp, CPU
// builds; see the README there). For each method: train a few steps on
// stories260K, `peft export` the llama.cpp LoRA GGUF, and check that
//   - llama-perplexity --lora gives the PPL `peft perplexity --adapter
//     --protocol llama.cpp` gives (relative 1e-4), and the adapter moved it;
//   - llama-export-lora's merge of our GGUF adapter scores the NLL of our own
//     `peft merge` output (relative 1e-4), and llama-perplexity scores our
//     merged GGUF as we score the base with the adapter.
// Full fine-tuning writes a GGUF model: llama-perplexity must score it as we
// do. And llama-tokenize must give our ids for every GGUF vocabulary in
// ../shared over llama.cpp's test strings (.inp).
//
// llama-perplexity runs with -ctk f32 -ctv f32: by default it stores K and V
// in f16, which moves its PPL by ~2e-4 relative on stories260K, more than
// the tolerance; with f32 K/V both programs compute the same f32 model.
// -t 1 -b 128: one thread (CI has 2 cores; llama's spinning workers are slow
// on a busy machine) and one chunk per batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "test_util.h"
#include "tokenizer/load.h"

using namespace peft;
using namespace peft::test;
namespace fs = std::filesystem;

namespace {

std::string llama_bin(const std::string& name) { return shared_path("bin/llama.cpp/" + name); }
std::string base_model() { return shared_path("models/stories260K.gguf"); }

// Runs a llama.cpp program; a failure (missing libgomp, bad flag) fails the
// test with its last output.
CliResult run_llama(const std::string& name, const std::vector<std::string>& args) {
  CliResult r = run_program(llama_bin(name), args);
  EXPECT_EQ(r.rc, 0) << name << " failed (rc " << r.rc << "):\n"
                     << r.out.substr(r.out.size() > 2000 ? r.out.size() - 2000 : 0) << "\n"
                     << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  return r;
}

CliResult run_peft(const std::vector<std::string>& args) {
  CliResult r = run_cli(args);
  EXPECT_EQ(r.rc, 0) << "peft " << args[0] << " failed:\n" << r.err;
  return r;
}

// llama-perplexity prints its progress and result among many log lines, on
// stdout or stderr depending on the build: take the number after the last
// "Final estimate: PPL = ".
double llama_final_ppl(const CliResult& r) {
  const std::string key = "Final estimate: PPL = ";
  for (const std::string* s : {&r.err, &r.out}) {
    size_t at = s->rfind(key);
    if (at == std::string::npos) continue;
    const char* begin = s->c_str() + at + key.size();
    char* end = nullptr;
    double v = std::strtod(begin, &end);
    if (end != begin) return v;
  }
  ADD_FAILURE() << "no 'Final estimate: PPL' in llama-perplexity's output:\n" << r.err << r.out;
  return NAN;
}

double relative(double a, double b) { return std::fabs(a - b) / std::fabs(b); }

// The texts: training text from the head of tinyshakespeare, the scored text
// (690 tokens with BOS: 5 chunks of 128 and a tail of 50 that llama.cpp
// drops) from further on.
struct Texts {
  std::string dir, train, eval;
};
Texts make_texts(const std::string& tag) {
  std::string all = read_file(shared_path("data/tinyshakespeare/input.txt"));
  Texts t;
  t.dir = temp_dir(tag);
  t.train = t.dir + "/train.txt";
  t.eval = t.dir + "/eval.txt";
  write_file(t.train, all.substr(0, 20000));
  write_file(t.eval, all.substr(40000, 1100));
  return t;
}

std::vector<std::string> llama_ppl_args(const std::string& model, const std::string& text) {
  return {"-m", model, "-f", text, "-c", "128", "-b", "128", "-t", "1", "-ctk", "f32", "-ctv", "f32"};
}

nlohmann::json our_ppl(const std::string& model, const std::string& text, const std::string& adapter = "") {
  std::vector<std::string> a{"perplexity", "-m", model,  "-d",     text,      "--protocol",
                             "llama.cpp",  "-c", "128", "--json", "--threads", "1"};
  if (!adapter.empty()) {
    a.push_back("--adapter");
    a.push_back(adapter);
  }
  CliResult r = run_peft(a);
  return nlohmann::json::parse(r.out);
}

struct MethodCase {
  const char* method;
  const char* lr;  // large enough that a few steps move the PPL visibly
};

void PrintTo(const MethodCase& c, std::ostream* os) { *os << c.method; }

class LlamaCppAdapter : public ::testing::TestWithParam<MethodCase> {};

TEST_P(LlamaCppAdapter, PerplexityAndMergeMatchLlamaCpp) {
  const MethodCase mc = GetParam();
  Texts t = make_texts(std::string("llama-") + mc.method);
  const std::string out = t.dir + "/adapter", gguf = t.dir + "/adapter.gguf";
  run_peft({"train", "-m", base_model(), "-d", t.train, "--method", mc.method, "--steps", "4", "-b", "2",
            "--seq-len", "64", "--targets", "all-linear", "--lr", mc.lr, "--eval-windows", "1", "--threads", "1",
            "--seed", "1", "-q", "-o", out});
  run_peft({"export", "-m", base_model(), "--adapter", out, "-o", gguf, "-q"});
  ASSERT_TRUE(fs::exists(gguf));

  // Perplexity with the adapter: llama.cpp's program against ours.
  std::vector<std::string> la = llama_ppl_args(base_model(), t.eval);
  la.insert(la.end(), {"--lora", gguf});
  const double llama_ppl = llama_final_ppl(run_llama("llama-perplexity", la));
  nlohmann::json ours = our_ppl(base_model(), t.eval, out);
  nlohmann::json base = our_ppl(base_model(), t.eval);
  const double our_ppl_v = ours["perplexity"].get<double>();
  EXPECT_EQ(ours["windows"].get<int64_t>(), 5) << "the text should fill 5 chunks of 128 tokens";
  EXPECT_LT(relative(our_ppl_v, llama_ppl), 1e-4) << mc.method << ": ours " << our_ppl_v << ", llama.cpp " << llama_ppl;
  // Without this the comparison could pass with an adapter nobody applied.
  EXPECT_GT(relative(our_ppl_v, base["perplexity"].get<double>()), 1e-3)
      << mc.method << ": the adapter barely changed the PPL (" << base["perplexity"] << " -> " << our_ppl_v << ")";
  std::printf("[ %s ] PPL ours %.6f  llama-perplexity --lora %.4f  (base %.4f)\n", mc.method, our_ppl_v, llama_ppl,
              base["perplexity"].get<double>());

  // Merging: llama-export-lora applied to our GGUF adapter against our merge.
  const std::string merged_llama = t.dir + "/merged-llama.gguf", merged_ours = t.dir + "/merged-ours.gguf";
  run_llama("llama-export-lora", {"-m", base_model(), "--lora", gguf, "-o", merged_llama, "-t", "1"});
  run_peft({"merge", "-m", base_model(), "--adapter", out, "-o", merged_ours, "-q"});
  ASSERT_TRUE(fs::exists(merged_llama));
  const double nll_llama_merge = our_ppl(merged_llama, t.eval)["mean_nll"].get<double>();
  const double nll_our_merge = our_ppl(merged_ours, t.eval)["mean_nll"].get<double>();
  EXPECT_LT(relative(nll_llama_merge, nll_our_merge), 1e-4)
      << mc.method << ": llama-export-lora merge NLL " << nll_llama_merge << ", peft merge " << nll_our_merge;
  std::printf("[ %s ] merged NLL: llama-export-lora %.7f  peft merge %.7f\n", mc.method, nll_llama_merge,
              nll_our_merge);
  // And llama.cpp reads our merged GGUF as the base plus the adapter.
  const double llama_ppl_our_merge = llama_final_ppl(run_llama("llama-perplexity", llama_ppl_args(merged_ours, t.eval)));
  EXPECT_LT(relative(llama_ppl_our_merge, our_ppl_v), 1e-4)
      << mc.method << ": llama-perplexity on peft merge's GGUF " << llama_ppl_our_merge << ", ours with the adapter "
      << our_ppl_v;
  std::printf("[ %s ] llama-perplexity on peft merge's GGUF %.4f\n", mc.method, llama_ppl_our_merge);
  fs::remove_all(t.dir);
}

INSTANTIATE_TEST_SUITE_P(Methods, LlamaCppAdapter,
                         ::testing::Values(MethodCase{"lora", "1e-2"}, MethodCase{"lora-fa", "1e-2"},
                                           MethodCase{"vera", "5e-2"}, MethodCase{"delta-lora", "1e-2"},
                                           MethodCase{"lora-plus", "2e-3"}),
                         [](const auto& info) {
                           std::string n = info.param.method;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// Full fine-tuning writes a whole GGUF model: llama.cpp must score it as we do.
TEST(LlamaCppFull, PerplexityOfTheTrainedModelMatches) {
  Texts t = make_texts("llama-full");
  const std::string out = t.dir + "/full";
  run_peft({"train", "-m", base_model(), "-d", t.train, "--method", "full", "--steps", "4", "-b", "2", "--seq-len",
            "64", "--lr", "1e-3", "--eval-windows", "1", "--threads", "1", "--seed", "1", "-q", "-o", out});
  const std::string model = out + "/model.gguf";
  ASSERT_TRUE(fs::exists(model));
  const double llama_ppl = llama_final_ppl(run_llama("llama-perplexity", llama_ppl_args(model, t.eval)));
  const double ours = our_ppl(model, t.eval)["perplexity"].get<double>();
  const double base = our_ppl(base_model(), t.eval)["perplexity"].get<double>();
  EXPECT_LT(relative(ours, llama_ppl), 1e-4) << "ours " << ours << ", llama.cpp " << llama_ppl;
  EXPECT_GT(relative(ours, base), 1e-3) << "training barely changed the PPL";
  std::printf("[ full ] PPL ours %.6f  llama-perplexity %.4f  (base %.4f)\n", ours, llama_ppl, base);
  fs::remove_all(t.dir);
}

// The protocol itself on the base model, and llama-perplexity's refusal of a
// text under 2 chunks mirrored as an error.
TEST(LlamaCppProtocol, BaseModelPerplexityMatchesAndShortTextIsRefused) {
  Texts t = make_texts("llama-protocol");
  const double llama_ppl = llama_final_ppl(run_llama("llama-perplexity", llama_ppl_args(base_model(), t.eval)));
  CliResult r = run_peft({"perplexity", "-m", base_model(), "-d", t.eval, "--protocol", "llama.cpp", "-c", "128"});
  // The human-readable line is llama-perplexity's own.
  const double ours = llama_final_ppl(r);
  // 5 chunks of 128, each scoring the predictions of tokens 65..127.
  EXPECT_NE(r.out.find("chunks 5 of 128 tokens, 315 tokens scored"), std::string::npos) << r.out;
  EXPECT_LT(relative(ours, llama_ppl), 1e-4) << "ours " << ours << ", llama.cpp " << llama_ppl;
  // 690 tokens < 2 x 512: refused as llama-perplexity refuses it.
  CliResult s = run_cli({"perplexity", "-m", base_model(), "-d", t.eval, "--protocol", "llama.cpp", "-c", "512"});
  EXPECT_EQ(s.rc, 2);
  EXPECT_NE(s.err.find("error: [perplexity]"), std::string::npos) << s.err;
  // Flags of the other protocol, and unknown protocols, are refused.
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"--protocol", "llama.cpp", "--stride", "16"}, {"--chunks", "2"}, {"--protocol", "llama"}}) {
    std::vector<std::string> a{"perplexity", "-m", base_model(), "-d", t.eval};
    a.insert(a.end(), extra.begin(), extra.end());
    CliResult e = run_cli(a);
    EXPECT_EQ(e.rc, 2) << extra.back();
    EXPECT_EQ(e.err.rfind("error: [perplexity]", 0), 0u) << e.err;
    EXPECT_EQ(std::count(e.err.begin(), e.err.end(), '\n'), 1) << e.err;
  }
  fs::remove_all(t.dir);
}

// ---- tokenizers ----------------------------------------------------------

struct VocabCase {
  const char* gguf;  // relative to ../shared
  const char* inp;   // llama.cpp's test strings for it
};

std::vector<std::string> read_inp(const std::string& path) {
  // Texts each followed by "\n__ggml_vocab_test__\n".
  const std::string inp = read_file(path), sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0;;) {
    size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    texts.push_back(inp.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  return texts;
}

// `llama-tokenize --ids` prints "[1, 2, 3]" as its last line.
std::vector<int32_t> parse_llama_ids(const std::string& out) {
  size_t open = out.rfind('['), close = out.rfind(']');
  std::vector<int32_t> ids;
  if (open == std::string::npos || close == std::string::npos || close < open) {
    ADD_FAILURE() << "no id list in llama-tokenize's output: " << out;
    return ids;
  }
  std::string inner = out.substr(open + 1, close - open - 1);
  for (char& c : inner)
    if (c == ',') c = ' ';
  std::istringstream in(inner);
  int32_t id;
  while (in >> id) ids.push_back(id);
  return ids;
}

const VocabCase kVocabs[] = {
    {"models/stories260K.gguf", "tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf.inp"},
    {"tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf", "tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf.inp"},
    {"tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf", "tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf.inp"},
    {"tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf", "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf.inp"},
};

void PrintTo(const VocabCase& c, std::ostream* os) { *os << c.gguf; }

class LlamaCppTokenize : public ::testing::TestWithParam<VocabCase> {};

// Every text, with the specials each vocabulary adds (BOS; BERT's CLS/SEP),
// as `peft tokenize` encodes (the same load_tokenizer + encode).
TEST_P(LlamaCppTokenize, SameIdsAsLlamaTokenize) {
  const std::string gguf = shared_path(GetParam().gguf);
  auto tok = load_tokenizer(gguf);
  const std::string dir = temp_dir("llama-tokenize"), file = dir + "/text.txt";
  std::vector<std::string> texts = read_inp(shared_path(GetParam().inp));
  ASSERT_GT(texts.size(), 20u);
  int mismatches = 0;
  for (const std::string& text : texts) {
    write_file(file, text);
    // --no-escape: take the bytes as they are (by default "\n" in the text is
    // turned into a newline).
    CliResult r = run_llama("llama-tokenize", {"-m", gguf, "-f", file, "--ids", "--log-disable", "--no-escape"});
    if (r.rc != 0) break;
    std::vector<int32_t> want = parse_llama_ids(r.out);
    std::vector<int32_t> got = tok->encode(text, true);
    if (got != want && ++mismatches <= 5) {
      ADD_FAILURE() << "'" << text << "': llama-tokenize " << ::testing::PrintToString(want) << ", ours "
                    << ::testing::PrintToString(got);
    }
  }
  EXPECT_EQ(mismatches, 0);

  // And through the command itself, on one long text: all the strings joined
  // by newlines (`peft tokenize` prints the ids separated by spaces).
  std::string all;
  for (const std::string& text : texts) all += text + "\n";
  write_file(file, all);
  CliResult l = run_llama("llama-tokenize", {"-m", gguf, "-f", file, "--ids", "--log-disable", "--no-escape"});
  CliResult p = run_cli({"tokenize", "--tokenizer", gguf, "--file", file});
  ASSERT_EQ(p.rc, 0) << p.err;
  std::vector<int32_t> ours;
  std::istringstream in(p.out);
  int32_t id;
  while (in >> id) ours.push_back(id);
  std::vector<int32_t> theirs = parse_llama_ids(l.out);
  EXPECT_GT(theirs.size(), 100u);
  EXPECT_EQ(ours, theirs);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, LlamaCppTokenize, ::testing::ValuesIn(kVocabs), [](const auto& info) {
  std::string n = fs::path(info.param.gguf).stem().string();
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

// A GGUF file added anywhere in ../shared must be added to kVocabs above.
TEST(LlamaCppTokenizeCoverage, EveryGgufVocabularyInSharedIsChecked) {
  std::set<std::string> listed;
  for (const VocabCase& v : kVocabs) listed.insert(fs::path(shared_path(v.gguf)).lexically_normal().string());
  const fs::path root = fs::path(shared_path("models")).parent_path();
  int seen = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".gguf") continue;
    ++seen;
    EXPECT_TRUE(listed.count(fs::absolute(e.path()).lexically_normal().string()))
        << e.path() << " is not checked against llama-tokenize";
  }
  EXPECT_EQ(seen, static_cast<int>(std::size(kVocabs)));
}

}  // namespace
