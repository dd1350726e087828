// Template source from a syntax tree, laid out for reading (see formatter.cpp).
#pragma once
#include <string>

#include "tokenizer/chat_template/ast.h"

namespace peft::jinja {

std::string format_template(const NodeList& nodes);

}  // namespace peft::jinja
