// Splits a Jinja template into text and tag tokens, applying whitespace
// control the way Hugging Face configures Jinja: trim_blocks (the newline
// right after a block or comment tag is dropped), lstrip_blocks (spaces and
// tabs before a block or comment tag at the start of a line are dropped),
// `-` on a tag side strips all whitespace on that side, `+` turns the block
// rules off for that side, and one trailing newline of the source is dropped.
#pragma once
#include <string>
#include <vector>

namespace peft::jinja {

enum class TokKind {
  Text,        // literal template text (value = the text)
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,        // identifier or keyword
  String,      // string literal (value = decoded text)
  Int,         // integer literal (value = digits)
  Float,       // float literal (value = text)
  Op,          // operator or punctuation (value = its spelling)
  Eof,
};

struct Token {
  TokKind kind;
  std::string value;
  int line;
};

// A malformed template, found while lexing or parsing; the caller adds the
// template's name.
struct SyntaxError {
  int line;
  std::string message;
};

std::vector<Token> lex_template(const std::string& source);

}  // namespace peft::jinja
