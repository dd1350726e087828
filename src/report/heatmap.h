// Where the update went: a grid of layers (rows) × modules (columns), each
// cell shaded by ‖ΔW‖_F / ‖W‖_F of that layer, from white (no change) to the
// run's colour (the largest update of the run), the value written inside.
#pragma once
#include <string>

#include "report/run.h"

namespace peft::report {

// SVG with data-chart="heatmap"; one <rect class="cell"> per entry of
// run.heat (adapted module), none for modules the run did not touch. Without
// entries it draws a note saying why (run.heat_note).
std::string heat_map(const RunData& run, const std::string& colour);

}  // namespace peft::report
