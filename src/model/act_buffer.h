// An activation buffer that is (re)allocated only when it must grow, so
// repeated steps of the same shape allocate nothing. The models keep what
// their backward needs in these.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace peft {

template <typename T>
struct ActBuffer {
  AlignedPtr<T> p;
  int64_t cap = 0;
  T* get(int64_t n) {
    if (n > cap) {
      p = aligned_alloc_uninit<T>(n);
      cap = n;
    }
    return p.get();
  }
  T* data() const { return p.get(); }
  void release() {
    p.reset();
    cap = 0;
  }
  int64_t bytes() const { return cap * static_cast<int64_t>(sizeof(T)); }
};

}  // namespace peft
