// The report page: one self-contained HTML file (inline CSS and SVG, a few
// lines of plain JavaScript, nothing loaded from anywhere) that reads offline
// and prints.
#pragma once
#include <string>
#include <vector>

#include "report/run.h"

namespace peft::report {

struct PageOptions {
  std::string title = "peft.cpp training report";
  std::string intro;  // a paragraph of plain text above the charts (escaped here)
};

// Draws every run: loss curves, comparison, method diagrams, update heat
// maps, and what produced each run. The page's script sets
// <html data-report-status="ok N"> (N = the charts it found) once it ran, and
// "error: ..." if any script error happened: what a headless browser checks.
std::string render_page(const std::vector<RunData>& runs, const PageOptions& opt);

}  // namespace peft::report
