#include "tokenizer/chat_template/parser.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "tokenizer/chat_template/builtins.h"

namespace peft::jinja {

namespace {

ExprPtr make(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

// Deeper templates are refused: evaluating and destroying trees recurses,
// so a bound on nesting is what keeps hostile input from exhausting the stack.
constexpr int kMaxDepth = 200;

// Records the height of `e` from its children; too deep is a syntax error.
ExprPtr seal(ExprPtr e) {
  int d = 0;
  for (auto& a : e->args)
    if (a) d = std::max(d, a->depth);
  for (auto& [k, a] : e->kwargs) d = std::max(d, a->depth);
  if (e->star_args) d = std::max(d, e->star_args->depth);
  if (e->star_kwargs) d = std::max(d, e->star_kwargs->depth);
  e->depth = d + 1;
  if (e->depth > kMaxDepth) throw SyntaxError{e->line, "expression nested too deeply"};
  return e;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokKind::Text: return "text";
    case TokKind::VarBegin: return "'{{'";
    case TokKind::VarEnd: return "'}}'";
    case TokKind::BlockBegin: return "'{%'";
    case TokKind::BlockEnd: return "'%}'";
    case TokKind::Name: return "'" + t.value + "'";
    case TokKind::String: return "string literal";
    case TokKind::Int:
    case TokKind::Float: return "number " + t.value;
    case TokKind::Op: return "'" + t.value + "'";
    case TokKind::Eof: return "end of template";
  }
  return "?";
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  NodeList parse() {
    std::string end;
    NodeList nodes = parse_body({}, &end, 0, "");
    return nodes;
  }

 private:
  const Token& peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = t_[p_];
    if (p_ + 1 < t_.size()) ++p_;
    return t;
  }
  bool is_op(const char* op, size_t k = 0) const { return peek(k).kind == TokKind::Op && peek(k).value == op; }
  bool is_name(const char* n, size_t k = 0) const { return peek(k).kind == TokKind::Name && peek(k).value == n; }
  [[noreturn]] void error(const std::string& msg) const { throw SyntaxError{peek().line, msg}; }
  [[noreturn]] void unexpected(const std::string& wanted) const {
    error("expected " + wanted + ", got " + describe(peek()));
  }
  void expect_op(const char* op) {
    if (!is_op(op)) unexpected(std::string("'") + op + "'");
    next();
  }
  void expect_block_end() {
    if (peek().kind != TokKind::BlockEnd) unexpected("'%}'");
    next();
  }
  std::string expect_name() {
    if (peek().kind != TokKind::Name) unexpected("a name");
    return next().value;
  }

  // Nodes up to one of the `ends` tags. On return the block tag's name has
  // been consumed (its remaining tokens are for the caller) and stored in
  // *found. `opener` and `open_line` describe the block for errors.
  NodeList parse_body(std::initializer_list<const char*> ends, std::string* found, int open_line,
                      const std::string& opener) {
    NodeList out;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokKind::Eof) {
        if (ends.size() == 0) return out;
        throw SyntaxError{open_line, "'" + opener + "' block is never closed (missing '" + *(ends.end() - 1) + "')"};
      }
      if (t.kind == TokKind::Text) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::Text;
        n->line = t.line;
        n->text = next().value;
        out.push_back(std::move(n));
      } else if (t.kind == TokKind::VarBegin) {
        next();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::Output;
        n->line = t.line;
        if (peek().kind == TokKind::VarEnd) error("empty expression in '{{ }}'");
        n->expr = parse_tuple_expr(true);
        if (peek().kind != TokKind::VarEnd) unexpected("'}}'");
        next();
        out.push_back(std::move(n));
      } else if (t.kind == TokKind::BlockBegin) {
        const Token& name = peek(1);
        if (name.kind != TokKind::Name) {
          next();
          unexpected("a tag name");
        }
        for (const char* e : ends) {
          if (name.value == e) {
            next();
            next();
            *found = e;
            return out;
          }
        }
        if (ends.size() != 0 && (name.value == "elif" || name.value == "else" || name.value.rfind("end", 0) == 0))
          throw SyntaxError{name.line, "unexpected '" + name.value + "' inside the '" + opener + "' block opened on line " +
                                           std::to_string(open_line) + " (expected '" + *(ends.end() - 1) + "')"};
        next();
        out.push_back(parse_statement());
      } else {
        unexpected("text or a tag");
      }
    }
  }

  NodePtr parse_statement() {
    Nest guard(*this);
    const Token& tag = next();
    auto n = std::make_unique<Node>();
    n->line = tag.line;
    const std::string& k = tag.value;
    std::string found;
    if (k == "if") {
      n->kind = Node::Kind::If;
      ExprPtr cond = parse_tuple_expr(true);
      expect_block_end();
      while (true) {
        NodeList body = parse_body({"elif", "else", "endif"}, &found, n->line, "if");
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (found == "elif") {
          cond = parse_tuple_expr(true);
          expect_block_end();
        } else if (found == "else") {
          expect_block_end();
          n->else_body = parse_body({"endif"}, &found, n->line, "if");
          expect_block_end();
          break;
        } else {
          expect_block_end();
          break;
        }
      }
    } else if (k == "for") {
      n->kind = Node::Kind::For;
      n->target = parse_assign_target(false);
      if (!is_name("in")) unexpected("'in'");
      next();
      n->expr = parse_tuple_expr(false);
      if (is_name("if")) {
        next();
        n->cond = parse_expression(true);
      }
      if (is_name("recursive")) error("recursive loops are not supported");
      expect_block_end();
      ++loop_depth_;
      n->body = parse_body({"else", "endfor"}, &found, n->line, "for");
      --loop_depth_;
      expect_block_end();
      if (found == "else") {
        n->else_body = parse_body({"endfor"}, &found, n->line, "for");
        expect_block_end();
      }
    } else if (k == "set") {
      n->target = parse_assign_target(true);
      if (is_op("=")) {
        next();
        n->kind = Node::Kind::Set;
        n->expr = parse_tuple_expr(true);
        expect_block_end();
      } else {
        n->kind = Node::Kind::SetBlock;
        if (n->target->kind != Expr::Kind::Name) error("a block 'set' needs a plain variable name");
        if (is_op("|")) n->filter = parse_filter_chain();
        expect_block_end();
        int saved = loop_depth_;
        n->body = parse_body({"endset"}, &found, n->line, "set");
        loop_depth_ = saved;
        expect_block_end();
      }
    } else if (k == "macro") {
      n->kind = Node::Kind::Macro;
      n->text = expect_name();
      parse_params(*n);
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      n->body = parse_body({"endmacro"}, &found, n->line, "macro");
      loop_depth_ = saved;
      if (peek().kind == TokKind::Name) next();  // {% endmacro name %}
      expect_block_end();
    } else if (k == "call") {
      n->kind = Node::Kind::CallBlock;
      if (is_op("(")) parse_params(*n);
      n->expr = parse_expression(true);
      if (n->expr->kind != Expr::Kind::Call) error("'call' needs a macro call");
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      n->body = parse_body({"endcall"}, &found, n->line, "call");
      loop_depth_ = saved;
      expect_block_end();
    } else if (k == "filter") {
      n->kind = Node::Kind::FilterBlock;
      n->filter = parse_filter_chain();
      expect_block_end();
      n->body = parse_body({"endfilter"}, &found, n->line, "filter");
      expect_block_end();
    } else if (k == "generation") {
      n->kind = Node::Kind::Generation;
      expect_block_end();
      n->body = parse_body({"endgeneration"}, &found, n->line, "generation");
      expect_block_end();
    } else if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) throw SyntaxError{tag.line, "'" + k + "' outside a for loop"};
      n->kind = k == "break" ? Node::Kind::Break : Node::Kind::Continue;
      expect_block_end();
    } else if (k == "do") {
      n->kind = Node::Kind::Do;
      n->expr = parse_tuple_expr(true);
      expect_block_end();
    } else if (k == "elif" || k == "else" || k.rfind("end", 0) == 0) {
      throw SyntaxError{tag.line, "unexpected '" + k + "' (no open block it could close)"};
    } else {
      throw SyntaxError{tag.line, "unknown tag '" + k + "'"};
    }
    return n;
  }

  // (a, b=default, ...) for macros and call blocks.
  void parse_params(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      if (!n.params.empty()) expect_op(",");
      if (is_op(")")) break;
      n.params.push_back(expect_name());
      if (is_op("=")) {
        next();
        n.defaults.push_back(parse_expression(true));
      } else {
        n.defaults.push_back(nullptr);
      }
    }
    next();
  }

  // `| f(args) | g` after a block 'set' name or in a filter block: a Filter
  // chain whose innermost input is the body placeholder.
  ExprPtr parse_filter_chain() {
    ExprPtr e = make(Expr::Kind::Name, peek().line);
    e->name = kBlockBodyName;
    if (is_op("|")) next();
    e = parse_filter(std::move(e));
    while (is_op("|")) {
      next();
      e = parse_filter(std::move(e));
    }
    return e;
  }

  // for/set targets: a name, `ns.attr` (set only), or names separated by commas.
  ExprPtr parse_assign_target(bool allow_attr) {
    int line = peek().line;
    std::vector<ExprPtr> items;
    bool paren = false;
    if (is_op("(")) {
      next();
      paren = true;
    }
    while (true) {
      ExprPtr e = make(Expr::Kind::Name, peek().line);
      e->name = expect_name();
      if (allow_attr && is_op(".")) {
        next();
        ExprPtr a = make(Expr::Kind::Attr, e->line);
        a->name = expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      }
      items.push_back(std::move(e));
      if (!is_op(",")) break;
      next();
    }
    if (paren) expect_op(")");
    if (items.size() == 1 && !paren) return std::move(items[0]);
    ExprPtr t = make(Expr::Kind::Tuple, line);
    for (auto& e : items) {
      if (e->kind != Expr::Kind::Name) error("can only unpack into plain names");
      t->args.push_back(std::move(e));
    }
    return t;
  }

  bool at_expr_end() const {
    const Token& t = peek();
    return t.kind == TokKind::VarEnd || t.kind == TokKind::BlockEnd || t.kind == TokKind::Eof ||
           (t.kind == TokKind::Op && (t.value == ")" || t.value == "]" || t.value == "}"));
  }

  ExprPtr parse_tuple_expr(bool with_condexpr) {
    int line = peek().line;
    ExprPtr first = parse_expression(with_condexpr);
    if (!is_op(",")) return first;
    ExprPtr t = make(Expr::Kind::Tuple, line);
    t->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (at_expr_end()) break;
      t->args.push_back(parse_expression(with_condexpr));
    }
    return seal(std::move(t));
  }

  ExprPtr parse_expression(bool with_condexpr) {
    Nest guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = next().line;
      ExprPtr c = make(Expr::Kind::CondExpr, line);
      ExprPtr cond = parse_or();
      ExprPtr other;
      if (is_name("else")) {
        next();
        other = parse_condexpr();
      }
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(other));
      e = seal(std::move(c));
    }
    return e;
  }

  ExprPtr binary(Expr::Kind kind, ExprPtr a, ExprPtr b, int line, std::string op = "") {
    ExprPtr e = make(kind, line);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return seal(std::move(e));
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      int line = next().line;
      e = binary(Expr::Kind::Or, std::move(e), parse_and(), line);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      int line = next().line;
      e = binary(Expr::Kind::And, std::move(e), parse_not(), line);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Nest guard(*this);
      ExprPtr e = make(Expr::Kind::Not, next().line);
      e->args.push_back(parse_not());
      return seal(std::move(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = peek().line;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.kind == TokKind::Op && (t.value == "==" || t.value == "!=" || t.value == "<" || t.value == "<=" ||
                                    t.value == ">" || t.value == ">=")) {
        op = t.value;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && is_name("in", 1)) {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::Compare, line);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? seal(std::move(cmp)) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      e = binary(Expr::Kind::Binary, std::move(e), parse_concat(), t.line, t.value);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      e = binary(Expr::Kind::Binary, std::move(e), parse_math2(), line, "~");
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      e = binary(Expr::Kind::Binary, std::move(e), parse_pow(), t.line, t.value);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      e = binary(Expr::Kind::Binary, std::move(e), parse_unary(true), line, "**");
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    Nest guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      e = make(t.value == "-" ? Expr::Kind::Neg : Expr::Kind::Pos, t.line);
      e->args.push_back(parse_unary(false));
      e = seal(std::move(e));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    int line = t.line;
    switch (t.kind) {
      case TokKind::Name: {
        next();
        ExprPtr e = make(Expr::Kind::Literal, line);
        if (t.value == "true" || t.value == "True") e->value = Value(true);
        else if (t.value == "false" || t.value == "False") e->value = Value(false);
        else if (t.value == "none" || t.value == "None") e->value = Value::none();
        else {
          e->kind = Expr::Kind::Name;
          e->name = t.value;
        }
        return e;
      }
      case TokKind::String: {
        std::string s;
        while (peek().kind == TokKind::String) s += next().value;  // adjacent literals join
        ExprPtr e = make(Expr::Kind::Literal, line);
        e->value = Value(std::move(s));
        return e;
      }
      case TokKind::Int: {
        next();
        ExprPtr e = make(Expr::Kind::Literal, line);
        errno = 0;
        long long v = std::strtoll(t.value.c_str(), nullptr, 10);
        if (errno == ERANGE) e->value = Value(std::strtod(t.value.c_str(), nullptr));
        else e->value = Value(static_cast<int64_t>(v));
        return e;
      }
      case TokKind::Float: {
        next();
        ExprPtr e = make(Expr::Kind::Literal, line);
        e->value = Value(std::strtod(t.value.c_str(), nullptr));
        return e;
      }
      case TokKind::Op:
        if (t.value == "(") {
          next();
          if (is_op(")")) {
            next();
            return make(Expr::Kind::Tuple, line);
          }
          ExprPtr first = parse_expression(true);
          if (is_op(")")) {
            next();
            return first;
          }
          ExprPtr tup = make(Expr::Kind::Tuple, line);
          tup->args.push_back(std::move(first));
          while (is_op(",")) {
            next();
            if (is_op(")")) break;
            tup->args.push_back(parse_expression(true));
          }
          expect_op(")");
          return seal(std::move(tup));
        }
        if (t.value == "[") {
          next();
          ExprPtr e = make(Expr::Kind::List, line);
          while (!is_op("]")) {
            if (!e->args.empty()) expect_op(",");
            if (is_op("]")) break;
            e->args.push_back(parse_expression(true));
          }
          next();
          return seal(std::move(e));
        }
        if (t.value == "{") {
          next();
          ExprPtr e = make(Expr::Kind::Dict, line);
          while (!is_op("}")) {
            if (!e->args.empty()) expect_op(",");
            if (is_op("}")) break;
            e->args.push_back(parse_expression(true));
            expect_op(":");
            e->args.push_back(parse_expression(true));
          }
          next();
          return seal(std::move(e));
        }
        break;
      default: break;
    }
    unexpected("an expression");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        int line = next().line;
        if (peek().kind == TokKind::Int) {
          ExprPtr idx = make(Expr::Kind::Literal, line);
          idx->value = Value(static_cast<int64_t>(std::strtoll(next().value.c_str(), nullptr, 10)));
          e = binary(Expr::Kind::Item, std::move(e), std::move(idx), line);
          continue;
        }
        ExprPtr a = make(Expr::Kind::Attr, line);
        a->name = expect_name();
        a->args.push_back(std::move(e));
        e = seal(std::move(a));
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    int line = next().line;  // '['
    ExprPtr start, stop, step;
    if (!is_op(":")) start = parse_expression(true);
    if (!is_op(":")) {
      expect_op("]");
      return binary(Expr::Kind::Item, std::move(obj), std::move(start), line);
    }
    next();
    if (!is_op(":") && !is_op("]")) stop = parse_expression(true);
    if (is_op(":")) {
      next();
      if (!is_op("]")) step = parse_expression(true);
    }
    expect_op("]");
    ExprPtr s = make(Expr::Kind::Slice, line);
    s->args.push_back(std::move(obj));
    s->args.push_back(std::move(start));
    s->args.push_back(std::move(stop));
    s->args.push_back(std::move(step));
    return seal(std::move(s));
  }

  // '(' args ')' into e->args (after any already there) and e->kwargs.
  void parse_args(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) {
        bool two = is_op("**");
        next();
        ExprPtr& slot = two ? e.star_kwargs : e.star_args;
        if (slot) error(two ? "more than one **kwargs in a call" : "more than one *args in a call");
        slot = parse_expression(true);
        continue;
      }
      if (peek().kind == TokKind::Name && is_op("=", 1)) {
        std::string key = next().value;
        next();
        e.kwargs.emplace_back(key, parse_expression(true));
      } else {
        if (!e.kwargs.empty()) error("positional argument after keyword argument");
        e.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    ExprPtr c = make(Expr::Kind::Call, peek().line);
    c->args.push_back(std::move(callee));
    parse_args(*c);
    return seal(std::move(c));
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (is_op(".") && peek(1).kind == TokKind::Name) {
      next();
      name += "." + next().value;
    }
    return name;
  }

  ExprPtr parse_filter(ExprPtr input) {
    ExprPtr f = make(Expr::Kind::Filter, peek().line);
    f->name = dotted_name();
    if (!is_known_filter(f->name)) throw SyntaxError{f->line, "unknown filter '" + f->name + "'"};
    f->args.push_back(std::move(input));
    if (is_op("(")) parse_args(*f);
    return seal(std::move(f));
  }

  ExprPtr parse_test(ExprPtr input) {
    ExprPtr t = make(Expr::Kind::Test, next().line);  // 'is'
    if (is_name("not")) {
      next();
      t->negated = true;
    }
    t->name = dotted_name();
    if (!is_known_test(t->name)) throw SyntaxError{t->line, "unknown test '" + t->name + "'"};
    t->args.push_back(std::move(input));
    const Token& n = peek();
    if (is_op("(")) {
      parse_args(*t);
    } else if ((n.kind == TokKind::Name || n.kind == TokKind::String || n.kind == TokKind::Int ||
                n.kind == TokKind::Float || is_op("[") || is_op("{")) &&
               !(is_name("else") || is_name("or") || is_name("and") || is_name("if") || is_name("is"))) {
      // `x is divisibleby 3`: one argument without parentheses.
      t->args.push_back(parse_postfix(parse_primary()));
    }
    return seal(std::move(t));
  }

  // Bounds the parser's own recursion (and so the height of the trees it builds).
  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.nest_ > kMaxDepth) throw SyntaxError{p_.peek().line, "template nested too deeply"};
    }
    ~Nest() { --p_.nest_; }
    Parser& p_;
  };

  std::vector<Token> t_;
  size_t p_ = 0;
  int loop_depth_ = 0;
  int nest_ = 0;
};

}  // namespace

NodeList parse_template(const std::string& source) { return Parser(lex_template(source)).parse(); }

}  // namespace peft::jinja
