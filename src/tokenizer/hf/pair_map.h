// An open-addressing hash map from a pair of token ids to a merge (rank and
// result id), for BPE's hot loop: one probe sequence in one flat array
// instead of std::unordered_map's bucket chains, so a lookup is usually one
// cache miss. Linear probing over a power-of-two table at most half full.
#pragma once
#include <cstdint>
#include <vector>

namespace peft::hf {

struct MergeInfo {
  int32_t rank;
  int32_t new_id;
};

class PairMap {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
  }

  // Keeps the first value inserted for a key (the lowest rank).
  void insert(int32_t a, int32_t b, MergeInfo v) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t k = key(a, b);
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == kEmpty) {
        s = {k, v};
        ++size_;
        return;
      }
      if (s.key == k) return;
    }
  }

  const MergeInfo* find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    const uint64_t k = key(a, b);
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == kEmpty) return nullptr;
      if (s.key == k) return &s.value;
    }
  }

 private:
  // Ids are never negative, so the pair (-1, -1) marks a free slot; 16
  // bytes a slot keeps four to a cache line.
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    MergeInfo value{0, 0};
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  // Fibonacci hashing: the high bits of k * 2^64/phi, folded down.
  static size_t hash(uint64_t k) {
    k *= 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(k ^ (k >> 29));
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    reserve(old.empty() ? 8 : old.size());
    for (const Slot& s : old)
      if (s.key != kEmpty) insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.value);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace peft::hf
