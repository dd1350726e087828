#include "tokenizer/hf/normalizer.h"

namespace peft::hf {

std::unique_ptr<Normalizer> make_precompiled(const Json& j) {
  bad_format("normalizer type 'Precompiled' is not supported yet");
}

}  // namespace peft::hf
