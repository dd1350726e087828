// The side-by-side comparison of runs: a table of the numbers, bars for
// trainable parameters, memory (split into weights, gradients, optimizer
// state and activations), throughput and evaluation loss before/after, and
// what produced each run (model, data, settings).
#pragma once
#include <string>
#include <vector>

#include "report/run.h"

namespace peft::report {

// HTML <table class="comparison">, one row per run.
std::string comparison_table(const std::vector<RunData>& runs, const std::vector<std::string>& colours);
// HTML: for each run, its model, data and settings.
std::string provenance(const std::vector<RunData>& runs, const std::vector<std::string>& colours);

// The bar charts (SVG): data-chart "trainable" (one bar per run),
// "memory" (four stacked bars per run), "throughput" (one per run),
// "eval-before-after" (two per run: before faint, after solid). A run whose
// summary lacks the number gets a row with "—" and no bar.
std::string trainable_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours);
std::string memory_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours);
std::string throughput_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours);
std::string eval_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours);

}  // namespace peft::report
