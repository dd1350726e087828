// Tokenizer throughput: MB/s of encode() over tinyshakespeare/input.txt for
// each tokenizer.json (GPT-2 byte-level BPE, Llama-2 SentencePiece-style
// BPE, BGE WordPiece), one thread, best of N runs, two ways: the whole file
// as one text, and line by line (how training data is usually fed). Prints Markdown table rows; bench/tokenizers.sh puts them, and the
// same numbers for Hugging Face's Rust tokenizers, into
// bench/results/tokenizers.md.
//
//   tokenizer_bench [--shared DIR] [--reps N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf/hf_tokenizer.h"

namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string shared = std::getenv("PEFT_SHARED") ? std::getenv("PEFT_SHARED") : PEFT_DEFAULT_SHARED;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--shared") shared = argv[i + 1];
    else if (a == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
  }
  const std::string text = read_all(shared + "/data/tinyshakespeare/input.txt");
  const double mb = static_cast<double>(text.size()) / 1e6;
  const char* names[] = {"gpt2", "llama-2", "bge-small-en-v1.5"};
  std::vector<std::string_view> lines;
  for (size_t p = 0; p < text.size();) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    lines.push_back(std::string_view(text).substr(p, e - p));
    p = e + 1;
  }
  std::printf("| tokenizer.json | implementation | tokens (whole) | load ms | whole text MB/s | tokens (lines) | by line MB/s |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  for (const char* name : names) {
    const std::string path = shared + "/hf/" + name + "/tokenizer.json";
    const auto t_load = std::chrono::steady_clock::now();
    auto tok = peft::load_hf_tokenizer(path);
    const double load_s = seconds_since(t_load);
    double best = 1e30;
    size_t n_tokens = 0;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = tok->encode(text, false);
      best = std::min(best, seconds_since(t0));
      n_tokens = ids.size();
    }
    double best_lines = 1e30;
    size_t n_line_tokens = 0;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      size_t n = 0;
      for (std::string_view line : lines) n += tok->encode(line, false).size();
      best_lines = std::min(best_lines, seconds_since(t0));
      n_line_tokens = n;
    }
    std::printf("| %s | peft.cpp | %zu | %.0f | %.2f | %zu | %.2f |\n", name, n_tokens, load_s * 1e3, mb / best,
                n_line_tokens, mb / best_lines);
    std::fflush(stdout);
  }
  return 0;
}
