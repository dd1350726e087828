// BEIR retrieval collections: a corpus/queries JSONL file and a qrels TSV
// (the same input read as both), and the id cross-check between them.
#include <cstdint>
#include <string>

#include "data/beir.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string docs_path = peft::fuzz::write_scratch("corpus.jsonl", peft::fuzz::part(in, 0));
  std::string qrels_text(peft::fuzz::part(in, 1));
  peft::fuzz::run_guarded([&] {
    auto docs = peft::read_beir_corpus(docs_path);
    for (int64_t i = 0; i < docs.size(); ++i) (void)docs.joined(i);
  });
  peft::fuzz::run_guarded([&] { (void)peft::read_beir_queries(docs_path); });
  peft::fuzz::run_guarded([&] { (void)peft::parse_qrels(qrels_text, "qrels.tsv"); });
  peft::fuzz::run_guarded([&] { (void)peft::parse_qrels(std::string(in), "qrels.tsv"); });
  return 0;
}
