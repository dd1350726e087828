// Builds the syntax tree from tokens, following Jinja's grammar and operator
// precedence (lowest first): `a if c else b`, or, and, not, comparisons
// (in, not in, ==, !=, <, <=, >, >=, chained), + -, ~, * / // %, **,
// unary - +, then primaries with .attr, [item], [a:b:c], (call), | filter
// and `is` test.
#pragma once
#include <string>

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/lexer.h"

namespace peft::jinja {

// Throws SyntaxError for malformed templates (unclosed blocks, unknown
// tags, filters or tests, bad expressions).
NodeList parse_template(const std::string& source);

}  // namespace peft::jinja
