// The syntax tree of a parsed template: expressions and statements.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/chat_template/value.h"

namespace peft::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,   // value
    Name,      // name
    List,      // args: items
    Tuple,     // args: items
    Dict,      // args: key, value, key, value, ...
    Attr,      // args[0].name
    Item,      // args[0][args[1]]
    Slice,     // args[0][args[1]:args[2]:args[3]] (absent parts null)
    Call,      // args[0](args[1..], kwargs)
    Filter,    // args[0] | name(args[1..], kwargs)
    Test,      // args[0] is [not] name(args[1..], kwargs)
    Neg,       // -args[0]
    Pos,       // +args[0]
    Not,       // not args[0]
    And,       // args[0] and args[1]
    Or,        // args[0] or args[1]
    Binary,    // args[0] name args[1]: + - * / // % ** ~
    Compare,   // args[0] ops[0] args[1] ops[1] args[2] ...
    CondExpr,  // args[1] if args[0] else args[2] (else may be null)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  ExprPtr star_args;    // Call: f(*xs) -- a list spread into positional arguments
  ExprPtr star_kwargs;  // Call: f(**d) -- a dict spread into keyword arguments
  bool negated = false;  // Test: `is not`
  int depth = 1;         // height of this subtree (bounded by the parser)
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // branches: (condition or null for else, body)
    For,          // for target in expr [if cond]: body [else else_body]
    Set,          // set target = expr
    SetBlock,     // set name [| filters]: body (filter: Filter chain over the body's text, or null)
    Macro,        // macro name(params=defaults): body
    CallBlock,    // call[(params)] expr: body -- body is `caller`
    FilterBlock,  // filter chain: body
    Break,
    Continue,
    Do,           // do expr
    Generation,   // {% generation %}: body rendered as is, its span recorded
  };
  Kind kind;
  int line = 0;
  std::string text;  // Text; Macro and SetBlock name
  ExprPtr expr;
  ExprPtr target;
  ExprPtr cond;
  ExprPtr filter;  // Filter expression whose innermost input is the Name "\x01body"
  std::vector<std::pair<ExprPtr, NodeList>> branches;
  NodeList body, else_body;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param, null when none
};

// Name of the placeholder a filter block's chain reads its body text from.
inline const char* kBlockBodyName = "\x01body";

}  // namespace peft::jinja
