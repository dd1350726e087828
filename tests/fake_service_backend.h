// A test double of search::ServiceBackend: documents in a map, "bm25"
// scores that count query words in the text, "vector" scores from the
// cosine of letter-count vectors, "hybrid" their sum. It lets the HTTP
// layer's tests check routing, validation, JSON shapes, concurrency and
// shutdown without a model; the service's end-to-end tests run the real
// index (test_serve_cli.cpp).
#pragma once
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "search/service_backend.h"

namespace peft::test {

class FakeServiceBackend : public search::ServiceBackend {
 public:
  static constexpr int64_t kDims = 26;
  std::map<std::string, search::ServiceDocument> docs;
  // Counts calls in flight, to check that writes never overlap reads.
  std::atomic<int> readers{0}, writers{0}, overlap_seen{0};
  std::atomic<int> max_readers{0};
  int search_sleep_ms = 0;

  static std::vector<float> letters(const std::string& s) {
    std::vector<float> v(kDims, 0.f);
    for (unsigned char c : s)
      if (std::isalpha(c)) v[std::tolower(c) - 'a'] += 1;
    double n = 0;
    for (float x : v) n += x * x;
    if (n > 0)
      for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
    return v;
  }

  std::vector<search::ServiceHit> search(const search::ServiceQuery& q) override {
    enter_read();
    if (search_sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(search_sleep_ms));
    std::vector<search::ServiceHit> hits;
    const std::vector<float> qv = letters(q.q);
    for (const auto& [id, d] : docs) {
      bool keep = true;
      for (const auto& [k, v] : q.where) {
        const auto it = d.metadata.find(k);
        keep = keep && it != d.metadata.end() && (it->is_string() ? it->get<std::string>() : it->dump()) == v;
      }
      if (!keep) continue;
      double bm25 = 0, cos = 0;
      std::string low = d.title + " " + d.text;
      for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string word;
      for (char c : q.q + " ") {
        if (std::isalnum(static_cast<unsigned char>(c))) {
          word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        } else if (!word.empty()) {
          if (low.find(word) != std::string::npos) bm25 += 1;
          word.clear();
        }
      }
      const std::vector<float> dv = letters(d.title + " " + d.text);
      for (int i = 0; i < kDims; ++i) cos += qv[i] * dv[i];
      double s = q.mode == search::ServiceMode::Bm25 ? bm25 : q.mode == search::ServiceMode::Vector ? cos : bm25 + cos;
      if (q.mode == search::ServiceMode::Bm25 && bm25 == 0) continue;
      hits.push_back({id, s, d.title, d.text, d.metadata});
    }
    std::stable_sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    if (static_cast<int64_t>(hits.size()) > q.k) hits.resize(q.k);
    leave_read();
    return hits;
  }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override {
    std::vector<std::vector<float>> out;
    for (const auto& t : texts) out.push_back(letters(t));
    return out;
  }

  search::PreparedDocuments prepare(std::vector<search::ServiceDocument> ds) override {
    search::PreparedDocuments p;
    for (const auto& d : ds) {
      const auto v = letters(d.title + " " + d.text);
      p.vectors.insert(p.vectors.end(), v.begin(), v.end());
    }
    p.docs = std::move(ds);
    return p;
  }

  int64_t add(const search::PreparedDocuments& p) override {
    const auto& ds = p.docs;
    if (p.vectors.size() != ds.size() * kDims) fail("index", "prepared vectors do not match the documents");
    enter_write();
    for (const auto& d : ds)
      if (d.text.find("refuse me") != std::string::npos) {
        leave_write();
        fail("index", "document '" + d.id + "' refused");
      }
    int64_t replaced = 0;
    for (const auto& d : ds) {
      replaced += docs.count(d.id);
      docs[d.id] = d;
    }
    leave_write();
    return replaced;
  }

  bool remove(const std::string& id) override {
    enter_write();
    const bool had = docs.erase(id) > 0;
    leave_write();
    return had;
  }

  std::optional<search::ServiceDocument> get(const std::string& id) override {
    const auto it = docs.find(id);
    if (it == docs.end()) return std::nullopt;
    return it->second;
  }

  search::ServiceInfo info() override { return {static_cast<int64_t>(docs.size()), "fake-letters", "", kDims}; }

 private:
  void enter_read() {
    const int r = ++readers;
    int m = max_readers;
    while (r > m && !max_readers.compare_exchange_weak(m, r)) {
    }
    if (writers > 0) ++overlap_seen;
  }
  void leave_read() { --readers; }
  void enter_write() {
    if (++writers > 1 || readers > 0) ++overlap_seen;
  }
  void leave_write() { --writers; }
};

}  // namespace peft::test
