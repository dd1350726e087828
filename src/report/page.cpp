#include "report/page.h"

#include <cmath>

#include "report/colors.h"
#include "report/comparison.h"
#include "report/curves.h"
#include "report/embedding_charts.h"
#include "report/heatmap.h"
#include "report/method_diagram.h"
#include "report/svg.h"

namespace peft::report {

namespace {

const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;margin:24px auto;max-width:1320px;padding:0 16px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:4px 0}p.intro{max-width:900px;color:#333}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:10px 0}
.legend span.item{white-space:nowrap}.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.grid{display:flex;flex-wrap:wrap;gap:14px 24px}figure{margin:0;break-inside:avoid;page-break-inside:avoid}
figcaption{font-size:13px;color:#444;margin:2px 0 4px;font-weight:600}
svg.chart{max-width:100%;height:auto;font-size:11px;font-family:inherit}
svg .tick{fill:#555;font-size:11px}svg .label{fill:#333;font-size:12px}svg .note{fill:#a33;font-size:12px}
svg .rowlabel,svg .value{fill:#333;font-size:12px}svg .blocklabel{fill:#222;font-size:12px;font-weight:600}
svg .equation{fill:#222;font-size:13px;font-style:italic}svg .cellvalue{fill:#222;font-size:10px}svg .empty{fill:#888}
table.comparison{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
table.comparison th,table.comparison td{border-bottom:1px solid #e5e5e5;padding:4px 10px;text-align:left}
table.comparison td.num{text-align:right;font-variant-numeric:tabular-nums}
.provenance{display:flex;flex-wrap:wrap;gap:12px}.run-card{border:1px solid #e2e2e2;border-radius:6px;padding:8px 12px;max-width:620px}
.run-card dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:4px 0;font-size:12.5px}
.run-card dt{color:#666}.run-card dd{margin:0;word-break:break-all}
.notes{color:#a33}.dim [data-run]{opacity:.18}.dim [data-run].hot{opacity:1}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}.run-card{break-inside:avoid}}
)";

// First in <head>, so that it sees an error anywhere on the page.
const char* kErrorScript =
    "document.documentElement.setAttribute('data-report-status','loading');"
    "window.addEventListener('error',function(e){document.documentElement.setAttribute("
    "'data-report-status','error: '+(e.message||'script error'));});";

// Highlights one run across every chart while the pointer is on it, then
// leaves the marker a headless browser reads (unless an error came first).
const char* kScript = R"(
(function(){
  var b=document.body,html=document.documentElement;
  var els=document.querySelectorAll('[data-run]');
  function hot(run,on){
    for(var i=0;i<els.length;i++){if(els[i].getAttribute('data-run')===run){if(on)els[i].classList.add('hot');else els[i].classList.remove('hot');}}
    if(on)b.classList.add('dim');else b.classList.remove('dim');
  }
  for(var i=0;i<els.length;i++){
    els[i].addEventListener('mouseenter',function(){hot(this.getAttribute('data-run'),true);});
    els[i].addEventListener('mouseleave',function(){hot(this.getAttribute('data-run'),false);});
  }
  if(!/^error/.test(html.getAttribute('data-report-status')||''))
    html.setAttribute('data-report-status','ok '+document.querySelectorAll('svg.chart').length);
})();
)";

std::string figure(const std::string& caption, const std::string& svg) {
  return "<figure><figcaption>" + esc(caption) + "</figcaption>" + svg + "</figure>";
}

}  // namespace

std::string render_page(const std::vector<RunData>& runs, const PageOptions& opt) {
  const std::vector<std::string> colours = run_colours(runs);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" + esc(opt.title) +
                  "</title><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><script>" +
                  kErrorScript + "</script><style>" + kStyle + "</style></head><body><h1>" + esc(opt.title) + "</h1>";
  if (!opt.intro.empty()) h += "<p class=\"intro\">" + esc(opt.intro) + "</p>";
  h += "<div class=\"legend\">";
  for (size_t i = 0; i < runs.size(); ++i)
    h += "<span class=\"item\" data-run=\"" + std::to_string(i) + "\"><span class=\"swatch\" style=\"background:" +
         colours[i] + "\"></span>" + esc(runs[i].label) + " (" + esc(runs[i].method) + ")</span>";
  h += "</div>";

  h += "<h2>Loss</h2><div class=\"grid\">";
  h += figure("Training loss by step (smoothed; raw values faint)", loss_chart(runs, colours, Series::Train, XAxis::Steps));
  h += figure("Training loss by tokens seen", loss_chart(runs, colours, Series::Train, XAxis::Tokens));
  bool any_eval = false;
  for (const RunData& r : runs) any_eval = any_eval || !r.eval.empty();
  const std::vector<std::string> metrics = metrics_present(runs);
  // Pages of embedding runs only evaluate by retrieval/STS metrics, drawn
  // below: no empty evaluation-loss charts for them.
  if (any_eval || metrics.empty()) {
    h += figure("Evaluation loss by step", loss_chart(runs, colours, Series::Eval, XAxis::Steps));
    h += figure("Evaluation loss by tokens seen", loss_chart(runs, colours, Series::Eval, XAxis::Tokens));
  }
  // Embedding runs: the headline metric (and STS) at each evaluation.
  for (const std::string& k : metrics)
    if (k == metrics.front() || k == "sts_spearman" || k == "spearman")
      h += figure(metric_name(k) + " at each evaluation, by step", metric_curve(runs, colours, k));
  h += "</div>";

  h += "<h2>Comparison</h2>" + comparison_table(runs, colours);
  if (!metrics.empty()) h += metrics_table(runs, colours);
  h += "<div class=\"grid\">";
  h += figure("Trainable parameters", trainable_bars(runs, colours));
  bool any_memory = false;
  for (const RunData& r : runs) any_memory = any_memory || r.summary.contains("memory_bytes");
  // Embedding runs do not record memory; a chart of dashes says nothing.
  if (any_memory || metrics.empty()) h += figure("Memory of a training step, by construction", memory_bars(runs, colours));
  h += figure("Throughput", throughput_bars(runs, colours));
  bool any_eval_loss = false;
  for (const RunData& r : runs)
    any_eval_loss = any_eval_loss || !r.is_embedding() || std::isfinite(r.number("eval_loss_before")) ||
                    std::isfinite(r.number("eval_loss_after"));
  if (any_eval_loss) h += figure("Evaluation loss before and after", eval_bars(runs, colours));
  if (!metrics.empty()) h += figure("Evaluation metrics before and after", metric_bars(runs, colours));
  h += "</div>";

  bool any_embedding = false;
  for (const RunData& r : runs) any_embedding = any_embedding || r.embedding.present;
  if (any_embedding) {
    h += "<h2>Embeddings: similarity of pairs, and where the vectors lie</h2><div class=\"grid\">";
    for (size_t i = 0; i < runs.size(); ++i) {
      const EmbeddingEval& e = runs[i].embedding;
      if (!e.present) continue;
      const std::string who = runs[i].label + " (" + runs[i].method + ")";
      if (!e.before.positive_cos.empty() || !e.before.negative_cos.empty() || !e.after.positive_cos.empty() ||
          !e.after.negative_cos.empty())
        h += figure(who + ": cosine similarity of positive and negative pairs",
                    cosine_histograms(runs[i], static_cast<int>(i), colours[i]));
      if (!e.before.queries.empty() || !e.before.documents.empty() || !e.after.queries.empty() ||
          !e.after.documents.empty())
        h += figure(who + ": queries and documents, PCA", pca_scatter(runs[i], static_cast<int>(i), colours[i]));
    }
    h += "</div>";
  }

  h += "<h2>Methods, with each run's shapes</h2><div class=\"grid\">";
  for (size_t i = 0; i < runs.size(); ++i) h += figure(runs[i].label + " (" + runs[i].method + ")", method_diagram(runs[i], colours[i]));
  h += "</div>";

  h += "<h2>Where the update went: ‖ΔW‖<sub>F</sub> / ‖W‖<sub>F</sub></h2><div class=\"grid\">";
  for (size_t i = 0; i < runs.size(); ++i) h += figure(runs[i].label + " (" + runs[i].method + ")", heat_map(runs[i], colours[i]));
  h += "</div>";

  h += "<h2>Runs: model, data, settings</h2>" + provenance(runs, colours);
  std::string notes;
  for (const RunData& r : runs)
    for (const std::string& n : r.notes) notes += "<li>" + esc(n) + "</li>";
  if (!notes.empty()) h += "<h2>Skipped while reading</h2><ul class=\"notes\">" + notes + "</ul>";
  h += "<p style=\"color:#888;font-size:12px;margin-top:28px\">Written by peft report (peft.cpp). Memory is computed "
       "from the parameter counts (f32 weights, gradient and two AdamW moments per trainable number) and the "
       "activations the last training step kept, measured.</p>";
  h += "<script>" + std::string(kScript) + "</script></body></html>\n";
  return h;
}

}  // namespace peft::report
