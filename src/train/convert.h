// Converting a Llama-family model between a GGUF file and a Hugging Face
// directory, both ways (issue 3 part 5).
//
// Tensors are read, converted to f32 and written as F32. q and k rows move
// between llama.cpp's interleaved order and HF's half-split order
// (hf_names.h), so the converted model computes the same logits. Tokenizer:
// a GGUF "llama" vocabulary becomes tokenizer.json + tokenizer_config.json,
// and a SentencePiece-style tokenizer.json becomes tokenizer.ggml.* keys
// (vocab_convert.h); between two files of the same kind the tokenizer is copied
// as is. A tokenizer that cannot be converted is reported in the notes and
// left out, the model is still written.
#pragma once
#include <string>
#include <vector>

#include "model/llama.h"

namespace peft {

struct ConvertReport {
  std::string from, to;            // "gguf" or "hf"
  std::string description;         // the model's config line
  bool tokenizer_written = false;
  std::vector<std::string> notes;  // what was dropped or changed, one line each
};

// `in`: a GGUF file or an HF directory. `out`: a path ending in ".gguf"
// gives a GGUF file, anything else an HF directory (created if needed).
// Throws InputError "[convert] ..." (or the readers' own errors) on bad input.
ConvertReport convert_model(const std::string& in, const std::string& out);

class GgufFile;

// Writes a model already in memory (e.g. with adapters merged) the same way:
// `out` ending in ".gguf" → GGUF, else an HF directory. The tokenizer comes
// from `gguf` (the file the model was loaded from) or, when that is null,
// from the HF directory `source_dir` (may be empty: no tokenizer). The model
// is left as it was (its q/k rows are reordered only while writing GGUF).
// Sets report->to, tokenizer_written and notes.
void save_model_as(LlamaModel<float>& m, const GgufFile* gguf, const std::string& source_dir, const std::string& out,
                   ConvertReport* report);

}  // namespace peft
