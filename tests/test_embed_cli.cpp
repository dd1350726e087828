// `peft embed` end to end on stories260K as a decoder embedder: text and
// JSONL (BEIR) input, .npy output read back by an independent parse of the
// header and by numpy.load, .jsonl output with ids, the printed JSON, and
// the one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <cstring>
#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace peft::test;
using Json = nlohmann::json;

namespace {

std::string model() { return shared_path("models/stories260K.gguf"); }

// The embedding `peft embed --text` prints for one text.
std::vector<double> embed_one(const std::string& text, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"embed", "--model", model(), "--text", text};
  args.insert(args.end(), extra.begin(), extra.end());
  CliResult r = run_cli(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  const Json j = Json::parse(r.out);
  return j["embeddings"][0].get<std::vector<double>>();
}

// A .npy file parsed here, from the format's definition, not by the library.
struct Npy {
  std::string header;
  size_t rows = 0, cols = 0;
  std::vector<float> data;
};
Npy parse_npy(const std::string& bytes) {
  Npy n;
  EXPECT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const size_t hlen = static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]);
  n.header = bytes.substr(10, hlen);
  EXPECT_EQ((10 + hlen) % 64, 0u) << "data must start 64-byte aligned";
  EXPECT_EQ(n.header.back(), '\n');
  EXPECT_NE(n.header.find("'descr': '<f4'"), std::string::npos) << n.header;
  EXPECT_NE(n.header.find("'fortran_order': False"), std::string::npos) << n.header;
  const size_t s = n.header.find("'shape': (");
  EXPECT_NE(s, std::string::npos);
  std::sscanf(n.header.c_str() + s, "'shape': (%zu, %zu)", &n.rows, &n.cols);
  EXPECT_EQ(bytes.size(), 10 + hlen + 4 * n.rows * n.cols);
  n.data.resize(n.rows * n.cols);
  std::memcpy(n.data.data(), bytes.data() + 10 + hlen, 4 * n.data.size());
  return n;
}

}  // namespace

TEST(EmbedCli, TextPrintsOneUnitEmbedding) {
  const std::vector<double> e = embed_one("the cat sat on the mat");
  ASSERT_EQ(e.size(), 64u);  // stories260K's hidden size
  double n = 0;
  for (double x : e) n += x * x;
  EXPECT_NEAR(n, 1.0, 1e-5);
  // --dims keeps the first D, renormalised.
  const std::vector<double> d = embed_one("the cat sat on the mat", {"--dims", "16"});
  ASSERT_EQ(d.size(), 16u);
  double n16 = 0;
  for (int j = 0; j < 16; ++j) n16 += e[j] * e[j];
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(d[j], e[j] / std::sqrt(n16), 1e-5);
  // A literal prompt changes the embedding.
  const std::vector<double> p = embed_one("the cat sat on the mat", {"--prompt", "Instruct: find a story\nQuery: "});
  double diff = 0;
  for (int j = 0; j < 64; ++j) diff += std::fabs(p[j] - e[j]);
  EXPECT_GT(diff, 1e-3);
}

TEST(EmbedCli, TextFileToNpyReadsBackWithNumpy) {
  const std::string dir = temp_dir("embed_cli_npy");
  const std::vector<std::string> texts = {"once upon a time", "", "a little girl named lily went to the park",
                                          "the end"};
  std::string file;
  for (const auto& t : texts) file += t + "\n";
  write_file(dir + "/texts.txt", file);
  CliResult r = run_cli({"embed", "--model", model(), "--input", dir + "/texts.txt", "--out", dir + "/e.npy",
                         "--batch-size", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 4 embeddings of 64 dimensions"), std::string::npos) << r.out;
  const Npy n = parse_npy(read_file(dir + "/e.npy"));
  ASSERT_EQ(n.rows, 4u);
  ASSERT_EQ(n.cols, 64u);
  // Batched (grouped by length, padded) rows equal each text embedded alone.
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<double> one = embed_one(texts[i]);
    for (size_t j = 0; j < 64; ++j) ASSERT_NEAR(n.data[i * 64 + j], one[j], 1e-5) << i << "," << j;
  }
  // numpy reads the same numbers.
  CliResult py = run_program("/usr/bin/python3",
                             {"-c", "import numpy, sys; a = numpy.load(sys.argv[1]); "
                                    "print(a.dtype, a.shape[0], a.shape[1], repr(float(a[2, 5])))",
                              dir + "/e.npy"});
  ASSERT_EQ(py.rc, 0) << "python3 with numpy is required (scripts/setup.sh installs python3-numpy): " << py.err;
  std::istringstream ps(py.out);
  std::string dtype;
  size_t rows = 0, cols = 0;
  double v = 0;
  ps >> dtype >> rows >> cols >> v;
  EXPECT_EQ(dtype, "float32");
  EXPECT_EQ(rows, 4u);
  EXPECT_EQ(cols, 64u);
  EXPECT_EQ(static_cast<float>(v), n.data[2 * 64 + 5]);
}

TEST(EmbedCli, BeirJsonlToJsonlKeepsIds) {
  const std::string dir = temp_dir("embed_cli_jsonl");
  write_file(dir + "/corpus.jsonl",
             "{\"_id\": \"doc-7\", \"title\": \"tar\", \"text\": \"store and extract files\"}\n"
             "\n"
             "{\"_id\": 12, \"title\": \"\", \"text\": \"print lines that match\"}\n");
  CliResult r = run_cli({"embed", "--model", model(), "--input", dir + "/corpus.jsonl", "--out", dir + "/e.jsonl",
                         "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json summary = Json::parse(r.out);
  EXPECT_EQ(summary["texts"], 2);
  EXPECT_EQ(summary["dims"], 64);
  std::istringstream lines(read_file(dir + "/e.jsonl"));
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  const Json a = Json::parse(l1), b = Json::parse(l2);
  EXPECT_EQ(a["id"], "doc-7");
  EXPECT_EQ(b["id"], "12");
  // BEIR joins title and text with a space; an empty title adds nothing.
  const std::vector<double> want_a = embed_one("tar store and extract files"), want_b = embed_one("print lines that match");
  for (size_t j = 0; j < 64; ++j) {
    EXPECT_NEAR(a["embedding"][j].get<double>(), want_a[j], 1e-5);
    EXPECT_NEAR(b["embedding"][j].get<double>(), want_b[j], 1e-5);
  }
}

TEST(EmbedCli, BadInputIsOneLineAndExit2) {
  const std::string dir = temp_dir("embed_cli_bad");
  write_file(dir + "/q.jsonl", "{\"_id\": \"q1\", \"query\": \"no text field here\"}\n");
  write_file(dir + "/t.txt", "hello\n");
  auto one_line = [](const CliResult& r, const std::string& what) {
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_EQ(r.err.rfind("error: [", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  };
  one_line(run_cli({"embed", "--model", model(), "--input", dir + "/q.jsonl"}), "q.jsonl:1: no string \"text\"");
  one_line(run_cli({"embed", "--model", model(), "--text", "x", "--dims", "65"}), "--dims 65 is outside 1..64");
  one_line(run_cli({"embed", "--model", dir, "--text", "x"}), "[model]");  // a folder that is no model
  one_line(run_cli({"embed", "--model", dir + "/t.txt", "--text", "x"}), "not an embedding model");
  one_line(run_cli({"embed", "--model", model(), "--text", "x", "--out", dir + "/e.csv"}), ".npy or .jsonl");
  one_line(run_cli({"embed", "--model", model(), "--text", "x", "--pooling", "max"}), "--pooling");
  one_line(run_cli({"embed", "--model", model()}), "give --text or --input");
}
