#include "report/method_diagram.h"

#include <algorithm>
#include <cmath>

#include "report/svg.h"

namespace peft::report {

namespace {

double side(double d) { return std::clamp(7.0 * std::sqrt(std::max(1.0, d)), 8.0, 140.0); }

std::string dims(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

const TensorShape* find(const LayerShape& l, const std::string& name) {
  for (const TensorShape& t : l.trainable)
    if (t.name == name) return &t;
  return nullptr;
}

void arrow(Svg& s, double x1, double y1, double x2, double y2, const std::string& colour = "#555") {
  s.line(x1, y1, x2, y2, colour, "stroke-width=\"1.3\"");
  const double a = std::atan2(y2 - y1, x2 - x1), L = 7;
  const double ax = x2 - L * std::cos(a - 0.4), ay = y2 - L * std::sin(a - 0.4);
  const double bx = x2 - L * std::cos(a + 0.4), by = y2 - L * std::sin(a + 0.4);
  s.raw("<polygon points=\"" + coord(x2) + "," + coord(y2) + " " + coord(ax) + "," + coord(ay) + " " + coord(bx) + "," +
        coord(by) + "\" fill=\"" + colour + "\"/>");
}

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
  double cx() const { return x + w / 2; }
  double cy() const { return y + h / 2; }
};

// A box for a tensor: filled with the run's colour when it trains, grey
// (dashed when shared by all layers) when frozen.
Box block(Svg& s, double x, double y, double w, double h, const std::string& part, bool trains, const std::string& colour,
          const std::string& label, const std::string& sub, bool shared = false) {
  std::string extra = "class=\"block\" data-part=\"" + part + "\" data-trains=\"" + (trains ? "yes" : "no") +
                      "\" stroke=\"" + (trains ? colour : "#888") + "\" stroke-width=\"1.5\"";
  if (!trains) extra += " fill-opacity=\"1\"";
  if (shared) extra += " stroke-dasharray=\"4 3\"";
  if (trains) extra += " fill-opacity=\"0.75\"";
  s.rect(x, y, w, h, trains ? colour : "#e4e4e4", extra);
  s.text(x + w / 2, y - 5, label, "middle", "class=\"blocklabel\"");
  if (!sub.empty()) s.text(x + w / 2, y + h + 13, sub, "middle", "class=\"tick\"");
  return {x, y, w, h};
}

}  // namespace

std::string method_diagram(const RunData& r, const std::string& colour) {
  const std::string& m = r.method;
  const bool full = m == "full";
  const bool vera = m == "vera";
  const LayerShape* layer = r.layers.empty() ? nullptr : &r.layers.front();
  const nlohmann::json adapter =
      r.summary.is_object() && r.summary.contains("adapter") ? r.summary["adapter"] : nlohmann::json::object();
  int64_t out = layer ? layer->out : 0, in = layer ? layer->in : 0;
  int64_t rank = adapter.is_object() ? adapter.value("rank", int64_t{0}) : 0;
  if (layer) {
    if (const TensorShape* b = find(*layer, "lora_B"); b && b->shape.size() == 2) rank = b->shape[1];
    if (const TensorShape* d = find(*layer, "vera_lambda_d"); d && d->shape.size() == 1) rank = d->shape[0];
  }
  const std::string title = m + " on " + (layer ? layer->name : std::string("a linear layer"));
  const double W_w = side(static_cast<double>(in)), W_h = side(static_cast<double>(out));
  const double r_s = side(static_cast<double>(rank));
  int64_t max_in = in, max_out = out;
  if (vera && r.summary.is_object() && r.summary.contains("vera_shared")) {
    max_in = r.summary["vera_shared"].value("max_in", in);
    max_out = r.summary["vera_shared"].value("max_out", out);
  }
  const double x0 = 70, top = 34;
  const double row2 = top + W_h + 46;
  const double adapter_h = full ? 0 : std::max(vera ? side(static_cast<double>(max_out)) : W_h, r_s) + 40;
  const double height = row2 + adapter_h + 58;
  const double width = 620;
  Svg s(width, height, "method", title);
  if (!layer) {
    s.text(width / 2, 40, "summary.json records no layer shapes for this run", "middle", "class=\"note\"");
    return s.str();
  }
  // Input and output.
  s.text(18, top + W_h / 2 + 4, "x [" + std::to_string(in) + "]", "start", "class=\"blocklabel\"");
  Box W = block(s, x0 + 30, top, W_w, W_h, "W", full, colour, "W " + dims(out, in),
                full ? "trains" : (m == "delta-lora" ? "frozen for AdamW" : "frozen"));
  const double plus_x = std::max(W.x + W.w, 380.0) + 40, plus_y = top + W_h / 2;
  arrow(s, 60, plus_y, W.x - 2, plus_y);
  arrow(s, W.x + W.w + 2, plus_y, plus_x - 12, plus_y);
  std::string eq, note;
  if (full) {
    s.raw("<circle cx=\"" + coord(plus_x) + "\" cy=\"" + coord(plus_y) + "\" r=\"0\"/>");
    s.text(plus_x - 4, plus_y + 4, "h [" + std::to_string(out) + "]", "start", "class=\"blocklabel\"");
    s.text(20, height - 30, "h = W·x; every weight trains", "start", "class=\"equation\"");
    s.text(20, height - 12, "ΔW = W_after − W_before", "start", "class=\"equation\"");
    return s.str();
  }
  s.raw("<circle cx=\"" + coord(plus_x) + "\" cy=\"" + coord(plus_y) + "\" r=\"10\" fill=\"#fff\" stroke=\"#555\"/>");
  s.text(plus_x, plus_y + 5, "+", "middle", "class=\"blocklabel\"");
  arrow(s, plus_x + 10, plus_y, plus_x + 40, plus_y);
  s.text(plus_x + 44, plus_y + 4, "h [" + std::to_string(out) + "]", "start", "class=\"blocklabel\"");
  // The adapter path below W.
  s.line(45, plus_y, 45, row2 + 20, "#555", "stroke-width=\"1.3\"");
  double x = x0 + 30;
  Box last;
  if (vera) {
    Box A = block(s, x, row2, side(static_cast<double>(max_in)), r_s, "A", false, colour,
                  "A " + dims(rank, max_in), "shared, frozen", true);
    arrow(s, 45, row2 + 20, A.x - 2, row2 + 20 < A.y + A.h ? row2 + 20 : A.cy());
    Box d = block(s, A.x + A.w + 34, row2, 10, r_s, "lambda_d", true, colour, "d [" + std::to_string(rank) + "]", "");
    arrow(s, A.x + A.w + 2, A.cy(), d.x - 2, d.cy());
    Box B = block(s, d.x + d.w + 40, row2, r_s, side(static_cast<double>(max_out)), "B", false, colour,
                  "B " + dims(max_out, rank), "shared, frozen", true);
    arrow(s, d.x + d.w + 2, d.cy(), B.x - 2, d.cy());
    Box b = block(s, B.x + B.w + 34, row2, 10, W_h, "lambda_b", true, colour, "b [" + std::to_string(out) + "]", "");
    arrow(s, B.x + B.w + 2, b.cy(), b.x - 2, b.cy());
    last = b;
    eq = "h = W·x + Λ_b·B·Λ_d·A·x";
    note = "one random A, B for all layers; each layer trains only d and b";
  } else {
    const bool a_trains = m != "lora-fa";
    Box A = block(s, x, row2, W_w, r_s, "A", a_trains, colour, "A " + dims(rank, in),
                  a_trains ? (m == "lora-plus" ? "trains, lr η" : "trains") : "frozen (random init)");
    arrow(s, 45, row2 + std::min(20.0, r_s / 2), A.x - 2, row2 + std::min(20.0, r_s / 2));
    Box B = block(s, A.x + A.w + 46, row2, r_s, W_h, "B", true, colour, "B " + dims(out, rank),
                  m == "lora-plus" ? "trains, lr η × " + human(adapter.value("lora_plus_ratio", 16.0)) : "trains");
    arrow(s, A.x + A.w + 2, A.cy(), B.x - 2, A.cy());
    last = B;
    const double scale = adapter.value("scale", std::nan(""));
    eq = "h = W·x + s·B·A·x,  s = α/r = " + human(scale);
    if (m == "lora-fa") note = "A stays at its init; backward keeps A·x [n, r] instead of x [n, in]";
    if (m == "lora-plus") note = "B learns " + human(adapter.value("lora_plus_ratio", 16.0)) + "× faster than A";
    if (m == "delta-lora") {
      // The update of B·A flows back into W after every step.
      const double lam = adapter.value("delta_ratio", 2.0);
      const double ux = B.x + B.w + 30;
      s.raw("<path d=\"M" + coord(B.x + B.w) + "," + coord(B.cy()) + " C" + coord(ux + 40) + "," + coord(B.cy()) + " " +
            coord(ux + 40) + "," + coord(W.cy()) + " " + coord(W.x + W.w + 6) + "," + coord(W.y + W.h * 0.8) +
            "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\" stroke-dasharray=\"5 3\" class=\"delta-flow\"/>");
      arrow(s, W.x + W.w + 14, W.y + W.h * 0.8, W.x + W.w + 3, W.y + W.h * 0.8, colour);
      s.text(ux + 46, (B.cy() + W.cy()) / 2, "W += λ·Δ(s·B·A), λ = " + human(lam), "start", "class=\"blocklabel\"");
      note = "W is frozen for the optimizer but receives λ × each step's change of s·B·A";
    }
  }
  arrow(s, last.x + last.w + 2, last.cy(), plus_x - 4, last.cy());
  s.line(plus_x - 4, last.cy(), plus_x, plus_y + 10, "#555", "stroke-width=\"1.3\"");
  s.text(20, height - 30, eq, "start", "class=\"equation\"");
  if (!note.empty()) s.text(20, height - 12, note, "start", "class=\"equation\"");
  return s.str();
}

}  // namespace peft::report
