// Loss curves of all runs on shared axes: training loss by optimizer step or
// by input tokens seen (smoothed, with the raw values faint behind), and the
// evaluation loss at each evaluation.
#pragma once
#include <string>
#include <vector>

#include "report/run.h"

namespace peft::report {

enum class XAxis { Steps, Tokens };
enum class Series { Train, Eval };

// The smoothed curve: an exponential moving average with weight `w` on the
// past, bias-corrected (s_t = m_t / (1 − wᵗ), m_t = w·m_{t−1} + (1−w)·x_t)
// so the first points are not pulled toward zero.
std::vector<double> smooth(const std::vector<double>& v, double w);
// The weight used for n points: heavier for long runs.
double smoothing_weight(size_t n);

// One SVG. Each run draws one polyline per layer of the curve (class
// "raw" and "smooth" for training; "eval" with a circle per evaluation),
// each with data-run="<index>" and one point per record; runs without
// data for the axis are left out and named in the caption below the chart.
std::string loss_chart(const std::vector<RunData>& runs, const std::vector<std::string>& colours, Series s, XAxis x);

}  // namespace peft::report
