// The pictures of embedding runs (report/embedding_eval.h):
//   - cosine similarity of the evaluation's positive and negative pairs,
//     before and after training, as histograms on shared axes (training
//     should push the two apart);
//   - the query and document embeddings projected on one PCA plane fitted
//     on all of them (before and after together, report/pca.h), so both
//     panels share axes and show how training moved them;
//   - each evaluation metric before and after (bars, a table) and by step.
#pragma once
#include <string>
#include <vector>

#include "report/run.h"

namespace peft::report {

// The histogram bins' edges shared by every series of a run: `bins` equal
// bins over the range of all its cosines, widened to multiples of 0.05.
std::vector<double> cosine_bin_edges(const RunData& run, int bins);

// data-chart="cosine-histogram": two panels (before, after); each bin of
// each series is one <rect class="hist-bar" data-phase="before|after"
// data-pairs="positive|negative" data-count="N">, so the counts of a series
// add up to its number of pairs. Empty series draw nothing.
std::string cosine_histograms(const RunData& run, int index, const std::string& colour);

// data-chart="pca": two panels on the same axes; one <circle
// class="pca-query"> per query and one <rect class="pca-doc"> per document
// of each phase (data-phase), at its projection.
std::string pca_scatter(const RunData& run, int index, const std::string& colour);

// The metrics every embedding run recorded, in the known order.
std::vector<std::string> metrics_present(const std::vector<RunData>& runs);
// data-chart="metric-before-after": for each metric, two bars per run that
// has it (before faint, after solid), each rect with data-metric="<key>".
// Every metric here lies in [0, 1] (a negative correlation draws no bar).
std::string metric_bars(const std::vector<RunData>& runs, const std::vector<std::string>& colours);
// HTML <table class="comparison metrics">: a row per embedding run, a
// column per metric, "before → after".
std::string metrics_table(const std::vector<RunData>& runs, const std::vector<std::string>& colours);
// data-chart="metric-steps-<key>": the metric at each evaluation, by step,
// one <circle class="eval-point"> per evaluation.
std::string metric_curve(const std::vector<RunData>& runs, const std::vector<std::string>& colours, const std::string& key);

}  // namespace peft::report
