// `peft embed`: texts in, embeddings out (src/embed/embedder.h does the work).
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "embed/embed_inputs.h"
#include "embed/embedder.h"
#include "io/atomic_file.h"
#include "io/npy.h"

namespace peft::cli {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write_out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

}  // namespace

std::function<int()> setup_embed(CLI::App& app) {
  struct Opts {
    std::string model, adapter, text, input, out, prompt, pooling;
    int64_t batch_size = 32, max_length = 0, dims = 0;
    bool json = false, no_normalize = false;
    CommonOptions common;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model,
                 "The embedding model: a sentence-transformers or Hugging Face encoder folder (bert, roberta, "
                 "xlm-roberta), a bert GGUF, or any Llama-family GGUF / HF folder (a decoder embedder)")
      ->required();
  app.add_option("--adapter", o->adapter, "A PEFT adapter folder to apply (as `peft train --task embedding` saves)");
  auto* text = app.add_option("--text", o->text, "One text to embed");
  auto* input = app.add_option("--input", o->input,
                               "Texts to embed: a text file (one per line) or JSONL (\"text\", or BEIR's "
                               "\"title\" + \"text\"; \"_id\"/\"id\" kept)")
                    ->check(CLI::ExistingFile);
  text->excludes(input);
  app.add_option("--out", o->out,
                 "Write the embeddings to FILE: .npy (float32 [n, dims], numpy.load reads it) or .jsonl "
                 "({\"id\", \"embedding\"} per line); without it, print them as JSON");
  app.add_option("--prompt", o->prompt,
                 "A prompt name from the model's config_sentence_transformers.json (e.g. query), or literal text "
                 "to prepend (e.g. \"Instruct: Given a question, find the manual page\\nQuery: \"); default: the "
                 "adapter's when it was trained with one prompt for all texts, else the model's default prompt");
  app.add_option("--batch-size", o->batch_size, "Texts per forward pass (default: 32)")->check(kPositive);
  app.add_option("--max-length", o->max_length,
                 "Truncate each text to N tokens, special tokens included (default: the model's max_seq_length, "
                 "else its position limit)")
      ->check(kPositive);
  app.add_option("--dims", o->dims, "Keep the first D dimensions (Matryoshka), renormalised when the model normalises")
      ->check(kPositive);
  app.add_option("--pooling", o->pooling, "Override the pooling: cls, mean or last (default: the adapter's as trained, else the model's)");
  app.add_flag("--no-normalize", o->no_normalize, "Do not L2-normalise the embeddings (default: the adapter's as trained, else the model's setting)");
  app.add_flag("--json", o->json, "With --out: print a JSON summary instead of a line of text");
  add_common_options(app, o->common);
  return [o, text, input]() {
    apply_common_options(o->common);
    if (!*text && !*input) fail("embed", "give --text or --input");
    if (!o->out.empty()) {
      if (!ends_with(o->out, ".npy") && !ends_with(o->out, ".jsonl"))
        fail("embed", "--out " + o->out + ": the name must end in .npy or .jsonl");
      check_file_writable(o->out, "embed");
    }
    EmbedInputs in;
    if (*text) {
      in.texts = {o->text};
      in.ids = {""};
    } else {
      in = read_embed_inputs(o->input);
    }
    EmbedderOptions eo;
    eo.adapter = o->adapter;
    eo.pooling = o->pooling;
    if (o->no_normalize) eo.normalize = 0;
    auto e = Embedder::load(o->model, eo);
    const int64_t dims = e->resolve_dims(o->dims);

    EmbedOptions opts;
    opts.prompt = o->prompt;
    // An adapter trained with one prompt for both sides (--prompt, or scored
    // pairs) gets it by default; with different query and document prompts
    // the texts' side is unknown, so the model's default applies.
    if (const auto& a = e->adapter_settings(); a && opts.prompt.empty() && a->query_prompt == a->doc_prompt)
      opts.prompt = a->query_prompt;
    opts.batch_size = o->batch_size;
    opts.max_length = o->max_length;
    opts.dims = dims;
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto last = t0;
    // Data-parallel (mpirun): the ranks share the batches, rank 0 gathers
    // the rows, reports progress (its own share) and writes the result.
    Communicator& comm = world();
    opts.comm = &comm;
    const bool show = !o->common.quiet && comm.is_root() && static_cast<int64_t>(in.texts.size()) > o->batch_size;
    opts.progress = [&](int64_t done, int64_t total) {
      const auto now = Clock::now();
      if (!show || (done < total && now - last < std::chrono::seconds(2))) return;
      last = now;
      const double s = std::chrono::duration<double>(now - t0).count();
      const double rate = s > 0 ? done / s : 0;
      std::fprintf(stderr, "embed: %lld/%lld texts%s, %.1f texts/s, ETA %s\n", static_cast<long long>(done),
                   static_cast<long long>(total), comm.size() > 1 ? " (rank 0's share)" : "", rate,
                   format_duration(rate > 0 ? (total - done) / rate : 0).c_str());
    };
    const std::vector<float> y = e->embed(in.texts, opts);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const int64_t n = static_cast<int64_t>(in.texts.size());
    if (!comm.is_root()) return 0;

    if (o->out.empty()) {
      std::string s = "{\"model\": " + nlohmann::json(o->model).dump() + ", \"dims\": " + std::to_string(dims) +
                      ", \"embeddings\": [";
      for (int64_t r = 0; r < n; ++r) {
        if (r) s += ", ";
        if (in.has_ids)
          s += "{\"id\": " + nlohmann::json(in.ids[r]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
               ", \"embedding\": " + embedding_json(y.data() + r * dims, dims) + "}";
        else
          s += embedding_json(y.data() + r * dims, dims);
      }
      write_out(s + "]}\n");
      return 0;
    }
    if (ends_with(o->out, ".npy")) write_npy_f32(o->out, y.data(), n, dims);
    else write_embeddings_jsonl(o->out, in.ids, y.data(), n, dims);
    if (o->json) {
      nlohmann::ordered_json j;
      j["out"] = o->out;
      j["texts"] = n;
      j["dims"] = dims;
      j["seconds"] = secs;
      j["texts_per_second"] = secs > 0 ? n / secs : 0.0;
      write_out(j.dump() + "\n");
    } else if (!o->common.quiet) {
      std::printf("wrote %lld embeddings of %lld dimensions to %s (%.1f texts/s)\n", static_cast<long long>(n),
                  static_cast<long long>(dims), o->out.c_str(), secs > 0 ? n / secs : 0.0);
    }
    return 0;
  };
}

PEFT_COMMAND("embed", "Embed texts with an embedding model (encoder or decoder), optionally with an adapter",
             setup_embed);

}  // namespace peft::cli
