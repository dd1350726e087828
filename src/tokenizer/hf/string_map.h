// A string -> int32 hash map for vocabulary lookups, the other hot spot of
// tokenization after BPE merges: open addressing over 8-byte slots (32 bits
// of hash as a tag, 32 bits of entry index) so that a miss usually costs one
// cache line and a hit one more for the key. Keys are copied in; entries
// are never removed.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace peft::hf {

// A fast non-cryptographic 64-bit hash (multiply-xorshift over 8-byte words).
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xC2B2AE3D27D4EB4Full);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 32;
  return h;
}

class StringIdMap {
 public:
  // Inserts key -> value unless the key is present; returns the value now
  // stored for the key.
  int32_t insert(std::string_view key, int32_t value) {
    if ((keys_.size() + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const uint64_t h = hash_bytes(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == kEmpty) {
        slots_[i] = (static_cast<uint64_t>(tag) << 32) | keys_.size();
        keys_.emplace_back(key);
        values_.push_back(value);
        return value;
      }
      const uint32_t e = static_cast<uint32_t>(slot);
      if (static_cast<uint32_t>(slot >> 32) == tag && keys_[e] == key) return values_[e];
    }
  }

  // -1 when absent.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == kEmpty) return -1;
      const uint32_t e = static_cast<uint32_t>(slot);
      if (static_cast<uint32_t>(slot >> 32) == tag && keys_[e] == key) return values_[e];
    }
  }

  size_t size() const { return keys_.size(); }
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    if (cap > slots_.size()) rehash(cap);
    keys_.reserve(n);
    values_.reserve(n);
  }
  // Entry k (insertion order) for iteration.
  const std::string& key_at(size_t k) const { return keys_[k]; }
  int32_t value_at(size_t k) const { return values_[k]; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;

  void rehash(size_t cap) {
    slots_.assign(cap, kEmpty);
    mask_ = cap - 1;
    for (size_t e = 0; e < keys_.size(); ++e) {
      const uint64_t h = hash_bytes(keys_[e]);
      size_t i = h & mask_;
      while (slots_[i] != kEmpty) i = (i + 1) & mask_;
      slots_[i] = ((h >> 32) << 32) | e;
    }
  }

  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  std::vector<std::string> keys_;
  std::vector<int32_t> values_;
};

}  // namespace peft::hf
