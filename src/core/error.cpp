#include "core/error.h"

namespace peft {

void fail(const std::string& area, const std::string& message) {
  throw InputError("[" + area + "] " + message);
}

void internal_fail(const std::string& area, const std::string& message) {
  throw std::logic_error("[" + area + "] internal error: " + message);
}

}  // namespace peft
