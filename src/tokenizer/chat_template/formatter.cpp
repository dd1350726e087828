// Pretty-prints a parsed template in the layout huggingface.js's formatter
// uses: one tag per line, four spaces per nesting level, `-` on both sides
// of every tag (so the layout adds no whitespace), text as string outputs,
// double-quoted strings, and only the parentheses precedence needs. The
// result renders exactly as the original does.
#include "tokenizer/chat_template/formatter.h"

#include <cstdio>

namespace peft::jinja {

namespace {

// Binding strength of each expression form, loosest first; a child printed
// where a stronger form is required gets parentheses.
enum Prec {
  kCond = 0,
  kOr,
  kAnd,
  kNot,
  kCompare,
  kAdd,
  kConcat,
  kMul,
  kPow,
  kFilter,
  kUnary,
  kPostfix,
  kAtom,
};

int prec_of(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::CondExpr: return kCond;
    case Expr::Kind::Or: return kOr;
    case Expr::Kind::And: return kAnd;
    case Expr::Kind::Not: return kNot;
    case Expr::Kind::Compare: return kCompare;
    case Expr::Kind::Binary:
      if (e.name == "+" || e.name == "-") return kAdd;
      if (e.name == "~") return kConcat;
      if (e.name == "**") return kPow;
      return kMul;
    case Expr::Kind::Filter:
    case Expr::Kind::Test: return kFilter;
    case Expr::Kind::Neg:
    case Expr::Kind::Pos: return kUnary;
    case Expr::Kind::Attr:
    case Expr::Kind::Item:
    case Expr::Kind::Slice:
    case Expr::Kind::Call: return kPostfix;
    default: return kAtom;
  }
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string expr(const Expr& e);

// `e` where a form at least as strong as `need` is required.
std::string sub(const Expr& e, int need) {
  std::string s = expr(e);
  return prec_of(e) < need ? "(" + s + ")" : s;
}

std::string literal(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: return "none";
    case Value::Kind::Bool: return v.as_bool() ? "true" : "false";
    case Value::Kind::String: return quote(v.str());
    default: return v.to_str();  // numbers; literals hold nothing else
  }
}

std::string args_of(const Expr& e) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  for (size_t i = 1; i < e.args.size(); ++i) add(expr(*e.args[i]));
  if (e.star_args) add("*" + expr(*e.star_args));
  for (auto& [k, x] : e.kwargs) add(k + "=" + expr(*x));
  if (e.star_kwargs) add("**" + expr(*e.star_kwargs));
  return out;
}

std::string expr(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::Literal: return literal(e.value);
    case Expr::Kind::Name: return e.name;
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      std::string out;
      for (auto& a : e.args) out += (out.empty() ? "" : ", ") + expr(*a);
      if (e.kind == Expr::Kind::List) return "[" + out + "]";
      return "(" + out + (e.args.size() == 1 ? ",)" : ")");
    }
    case Expr::Kind::Dict: {
      std::string out;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2)
        out += (i ? ", " : "") + expr(*e.args[i]) + ": " + expr(*e.args[i + 1]);
      return "{" + out + "}";
    }
    case Expr::Kind::Attr: return sub(*e.args[0], kPostfix) + "." + e.name;
    case Expr::Kind::Item: return sub(*e.args[0], kPostfix) + "[" + expr(*e.args[1]) + "]";
    case Expr::Kind::Slice: {
      std::string out = sub(*e.args[0], kPostfix) + "[";
      if (e.args[1]) out += expr(*e.args[1]);
      out += ":";
      if (e.args[2]) out += expr(*e.args[2]);
      if (e.args[3]) out += ":" + expr(*e.args[3]);
      return out + "]";
    }
    case Expr::Kind::Call: return sub(*e.args[0], kPostfix) + "(" + args_of(e) + ")";
    case Expr::Kind::Filter: {
      std::string out = sub(*e.args[0], kFilter) + " | " + e.name;
      if (e.args.size() > 1 || !e.kwargs.empty() || e.star_args || e.star_kwargs) out += "(" + args_of(e) + ")";
      return out;
    }
    case Expr::Kind::Test: {
      std::string out = sub(*e.args[0], kFilter) + (e.negated ? " is not " : " is ") + e.name;
      if (e.args.size() > 1 || !e.kwargs.empty()) out += "(" + args_of(e) + ")";
      return out;
    }
    case Expr::Kind::Neg: return "-" + sub(*e.args[0], kUnary);
    case Expr::Kind::Pos: return "+" + sub(*e.args[0], kUnary);
    case Expr::Kind::Not: return "not " + sub(*e.args[0], kNot);
    case Expr::Kind::And: return sub(*e.args[0], kAnd) + " and " + sub(*e.args[1], kNot);
    case Expr::Kind::Or: return sub(*e.args[0], kOr) + " or " + sub(*e.args[1], kAnd);
    case Expr::Kind::Binary: {
      int p = prec_of(e);
      return sub(*e.args[0], p) + " " + e.name + " " + sub(*e.args[1], p + 1);
    }
    case Expr::Kind::Compare: {
      std::string out = sub(*e.args[0], kAdd);
      for (size_t i = 0; i < e.ops.size(); ++i)
        out += " " + (e.ops[i] == "notin" ? std::string("not in") : e.ops[i]) + " " + sub(*e.args[i + 1], kAdd);
      return out;
    }
    case Expr::Kind::CondExpr: {
      std::string out = sub(*e.args[1], kOr) + " if " + sub(*e.args[0], kOr);
      if (e.args[2]) out += " else " + sub(*e.args[2], kCond);
      return out;
    }
  }
  return "";
}

// A filter chain over the block-body placeholder, as " | f | g(x)".
std::string filter_chain(const Expr& f) {
  std::string inner = f.args[0]->kind == Expr::Kind::Filter ? filter_chain(*f.args[0]) : "";
  std::string out = inner + " | " + f.name;
  if (f.args.size() > 1 || !f.kwargs.empty()) out += "(" + args_of(f) + ")";
  return out;
}

std::string target(const Expr& t) {
  if (t.kind != Expr::Kind::Tuple) return expr(t);
  std::string out;
  for (auto& a : t.args) out += (out.empty() ? "" : ", ") + expr(*a);
  return out;
}

std::string params(const Node& n) {
  std::string out;
  for (size_t i = 0; i < n.params.size(); ++i) {
    out += (i ? ", " : "") + n.params[i];
    if (n.defaults[i]) out += "=" + expr(*n.defaults[i]);
  }
  return "(" + out + ")";
}

class Printer {
 public:
  std::string take() { return out_; }

  void nodes(const NodeList& list, int depth) {
    for (auto& n : list) node(*n, depth);
  }

 private:
  void line(int depth, const std::string& s) {
    if (!out_.empty()) out_ += "\n";
    out_ += std::string(static_cast<size_t>(depth) * 4, ' ') + s;
  }
  void tag(int depth, const std::string& s) { line(depth, "{%- " + s + " -%}"); }

  void node(const Node& n, int d) {
    switch (n.kind) {
      case Node::Kind::Text: line(d, "{{- " + quote(n.text) + " -}}"); break;
      case Node::Kind::Output: line(d, "{{- " + expr(*n.expr) + " -}}"); break;
      case Node::Kind::If:
        for (size_t i = 0; i < n.branches.size(); ++i) {
          tag(d, (i ? "elif " : "if ") + expr(*n.branches[i].first));
          nodes(n.branches[i].second, d + 1);
        }
        if (!n.else_body.empty()) {
          tag(d, "else");
          nodes(n.else_body, d + 1);
        }
        tag(d, "endif");
        break;
      case Node::Kind::For: {
        std::string head = "for " + target(*n.target) + " in " + sub(*n.expr, kOr);
        if (n.cond) head += " if " + expr(*n.cond);
        tag(d, head);
        nodes(n.body, d + 1);
        if (!n.else_body.empty()) {
          tag(d, "else");
          nodes(n.else_body, d + 1);
        }
        tag(d, "endfor");
        break;
      }
      case Node::Kind::Set: tag(d, "set " + target(*n.target) + " = " + expr(*n.expr)); break;
      case Node::Kind::SetBlock:
        tag(d, "set " + target(*n.target) + (n.filter ? filter_chain(*n.filter) : ""));
        nodes(n.body, d + 1);
        tag(d, "endset");
        break;
      case Node::Kind::Macro:
        tag(d, "macro " + n.text + params(n));
        nodes(n.body, d + 1);
        tag(d, "endmacro");
        break;
      case Node::Kind::CallBlock:
        tag(d, "call" + (n.params.empty() ? std::string() : params(n)) + " " + expr(*n.expr));
        nodes(n.body, d + 1);
        tag(d, "endcall");
        break;
      case Node::Kind::FilterBlock:
        tag(d, "filter " + filter_chain(*n.filter).substr(3));  // drop the leading " | "
        nodes(n.body, d + 1);
        tag(d, "endfilter");
        break;
      case Node::Kind::Break: tag(d, "break"); break;
      case Node::Kind::Continue: tag(d, "continue"); break;
      case Node::Kind::Do: tag(d, "do " + expr(*n.expr)); break;
      case Node::Kind::Generation:
        tag(d, "generation");
        nodes(n.body, d + 1);
        tag(d, "endgeneration");
        break;
    }
  }

  std::string out_;
};

}  // namespace

std::string format_template(const NodeList& nodes) {
  Printer p;
  p.nodes(nodes, 0);
  return p.take();
}

}  // namespace peft::jinja
