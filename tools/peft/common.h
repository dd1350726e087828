// Small helpers shared by the subcommands: options every command has, and
// file reading with the CLI's error style.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "core/format.h"
#include "train/apply_adapter.h"

namespace peft::cli {

struct CommonOptions {
  int threads = 0;  // 0 = all cores
  bool quiet = false;
};

void add_common_options(CLI::App& app, CommonOptions& o);

// Range checks with short messages ("--steps: must be > 0, got -3") in place
// of CLI11's NonNegativeNumber / PositiveNumber, whose message spells out
// the largest double. A value that is not a number is left to the option's
// own conversion error.
CLI::Validator at_least(double lo);     // value >= lo
CLI::Validator greater_than(double lo);  // value > lo
inline const CLI::Validator kNonNegative = at_least(0);
inline const CLI::Validator kPositive = greater_than(0);
void apply_common_options(const CommonOptions& o);

// What a --model or --tokenizer takes, for the help texts.
inline constexpr const char* kModelInput = "a GGUF file or a Hugging Face model directory";
inline constexpr const char* kTokenizerInput =
    "a GGUF file (its vocabulary), a tokenizer.json, or a directory holding tokenizer.json";

// Refuses, before anything is loaded, a model output that cannot be written:
// "*.gguf" is one file, anything else a Hugging Face directory (the rule of
// save_model_as). Throws InputError "[area] cannot write ...".
void check_model_output(const std::string& out, const std::string& area);

// The --adapter values ("DIR" or "DIR:SCALE") parsed, each checked to be a
// folder with an adapter_config.json before the model loads. Throws
// InputError "[adapters] ...".
std::vector<AdapterSpec> check_adapter_folders(const std::vector<std::string>& args);
// --base-dtype (model/base_dtype.h) for the commands that load a base model.
void add_base_dtype_option(CLI::App& app, std::string& value);
// One log line, when any matrix is stored: how the loaded base's matrices
// are held ("F32 0.3 MiB, Q4_K 604.1 MiB").
void log_base_storage(const Pretrained& p);

// Seconds as "1m23s" / "45s" (the library's, re-exported for the commands).
using peft::format_duration;

}  // namespace peft::cli
