#include "adapters/registry.h"

#include <algorithm>

#include "core/error.h"

namespace peft {

bool MethodSpec::uses(const std::string& setting) const {
  return std::find(settings.begin(), settings.end(), setting) != settings.end();
}

const std::vector<const MethodSpec*>& all_methods() {
  static const std::vector<const MethodSpec*> kAll = {
#define PEFT_METHOD(id) &id##_method(),
#include "adapters/methods.def"
#undef PEFT_METHOD
  };
  return kAll;
}

const MethodSpec* find_method(const std::string& name) {
  for (const MethodSpec* m : all_methods()) {
    if (m->name == name) return m;
    if (std::find(m->aliases.begin(), m->aliases.end(), name) != m->aliases.end()) return m;
  }
  return nullptr;
}

const MethodSpec& method_spec(const std::string& name, const std::string& area) {
  if (const MethodSpec* m = find_method(name)) return *m;
  fail(area, "unknown method '" + name + "' (use one of: " + method_names() + ")");
}

std::string method_names(const std::string& sep, bool adapters_only) {
  std::string s;
  for (const MethodSpec* m : all_methods()) {
    if (adapters_only && m->trains_base) continue;
    s += (s.empty() ? "" : sep) + m->name;
  }
  return s;
}

// Full fine-tuning is the method without an adapter, so it has no file of its
// own in src/adapters/: every base tensor trains, and the output is a model.
const MethodSpec& full_method() {
  static const MethodSpec kSpec = [] {
    MethodSpec m;
    m.name = "full";
    m.summary = "full fine-tuning: every weight trains";
    m.trains_base = true;
    m.default_lr = 1e-4;
    m.peft_format = PeftFormat::None;
    return m;
  }();
  return kSpec;
}

}  // namespace peft
