// A byte trie over strings with an id each, for the vocabulary lookups that
// need "every entry that is a prefix of the text here" (Unigram's lattice,
// matching added tokens). Node 0 is the root; edges live in one hash map
// keyed by (node, byte), which stays small for 250k-entry vocabularies.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace peft::hf {

class ByteTrie {
 public:
  ByteTrie() : ids_(1, -1) { first_.fill(false); }

  // The first insertion of a key keeps its id.
  void insert(std::string_view key, int32_t id) {
    if (key.empty()) return;
    first_[static_cast<uint8_t>(key[0])] = true;
    int32_t node = 0;
    for (char c : key) {
      const uint64_t k = edge(node, c);
      auto it = children_.find(k);
      if (it == children_.end()) {
        const int32_t n = static_cast<int32_t>(ids_.size());
        ids_.push_back(-1);
        children_.emplace(k, n);
        node = n;
      } else {
        node = it->second;
      }
    }
    if (ids_[node] < 0) ids_[node] = id;
  }

  bool empty() const { return ids_.size() == 1; }
  // Whether some key starts with byte b (a cheap filter before walking).
  bool may_start(uint8_t b) const { return first_[b]; }

  // Calls fn(length, id) for every key that is a prefix of s, shortest first.
  template <typename Fn>
  void prefixes(std::string_view s, Fn fn) const {
    int32_t node = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      auto it = children_.find(edge(node, s[i]));
      if (it == children_.end()) return;
      node = it->second;
      if (ids_[node] >= 0) fn(i + 1, ids_[node]);
    }
  }

 private:
  static uint64_t edge(int32_t node, char c) {
    return (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
  }
  std::vector<int32_t> ids_;  // per node: the id of the key ending there, or -1
  std::unordered_map<uint64_t, int32_t> children_;
  std::array<bool, 256> first_{};
};

}  // namespace peft::hf
