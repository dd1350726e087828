#include "search/hnsw_graph.h"

#include <fcntl.h>
#include <hnswlib/hnswlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <queue>
#include <thread>

#include "core/error.h"
#include "io/mapped_file.h"

namespace peft {

struct HnswGraph::Impl {
  explicit Impl(int64_t dims) : space(static_cast<size_t>(dims)) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> h;
};

bool normalize_vector(float* v, int64_t dims) {
  double s = 0;
  for (int64_t i = 0; i < dims; ++i) s += double(v[i]) * v[i];
  if (!(s > 0) || !std::isfinite(s)) return false;
  const float r = static_cast<float>(1.0 / std::sqrt(s));
  for (int64_t i = 0; i < dims; ++i) v[i] *= r;
  return true;
}

HnswGraph::HnswGraph(int64_t dims, int64_t m, int64_t ef_construction, int64_t capacity)
    : dims_(dims), impl_(std::make_unique<Impl>(dims)) {
  impl_->h = std::make_unique<hnswlib::HierarchicalNSW<float>>(&impl_->space, static_cast<size_t>(std::max<int64_t>(capacity, 1)),
                                                              static_cast<size_t>(m), static_cast<size_t>(ef_construction));
}

HnswGraph::~HnswGraph() = default;

namespace {

// Checks that `path` is a complete hnswlib graph file of `dims` floats before
// hnswlib reads it (hnswlib trusts its input: a truncated file would make it
// read past the end). The layout, as hnswlib's saveIndex writes it:
//   size_t offsetLevel0, max_elements, cur_element_count, size_data_per_element,
//          label_offset, offsetData; int maxlevel; unsigned enterpoint;
//   size_t maxM, maxM0, M; double mult; size_t ef_construction;
//   level-0 block [cur_element_count, size_data_per_element];
//   per element: unsigned bytes, then that many bytes of upper-level links.
void check_graph_file(const std::string& path, int64_t dims) {
  std::string reason;
  auto f = MappedFile::try_open(path, &reason);
  if (!f) fail("search", "cannot read '" + path + "': " + reason);
  const uint8_t* p = f->data();
  const size_t size = f->size();
  size_t pos = 0;
  auto bad = [&](const std::string& why) { fail("search", path + ": not a valid HNSW graph file (" + why + ")"); };
  auto take = [&](void* out, size_t n) {
    if (size - pos < n) bad("truncated");
    std::memcpy(out, p + pos, n);
    pos += n;
  };
  size_t hdr[6];
  take(hdr, sizeof hdr);
  int maxlevel;
  unsigned enter;
  size_t mm[3];
  double mult;
  size_t efc;
  take(&maxlevel, sizeof maxlevel);
  take(&enter, sizeof enter);
  take(mm, sizeof mm);
  take(&mult, sizeof mult);
  take(&efc, sizeof efc);
  const size_t count = hdr[2], per = hdr[3], label_off = hdr[4], data_off = hdr[5];
  if (label_off < data_off || label_off - data_off != size_t(dims) * sizeof(float) || per != label_off + sizeof(size_t))
    bad("vectors of another length than " + std::to_string(dims));
  if (count && per && count > (size - pos) / per) bad("truncated");
  if (count && enter >= count) bad("entry point out of range");
  pos += count * per;
  for (size_t i = 0; i < count; ++i) {
    unsigned n;
    take(&n, sizeof n);
    if (size - pos < n) bad("truncated");
    pos += n;
  }
  if (pos != size) bad("trailing bytes");
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::unique_ptr<HnswGraph> HnswGraph::load(const std::string& path, int64_t dims) {
  check_graph_file(path, dims);
  std::unique_ptr<HnswGraph> g(new HnswGraph());
  g->dims_ = dims;
  g->impl_ = std::make_unique<Impl>(dims);
  try {
    // hnswlib 0.6.2's loading constructor leaves num_deleted_ unset before
    // loadIndex() adds to it: construct empty, zero it, then load.
    g->impl_->h = std::make_unique<hnswlib::HierarchicalNSW<float>>(&g->impl_->space);
    g->impl_->h->num_deleted_ = 0;
    g->impl_->h->loadIndex(path, &g->impl_->space);
  } catch (const std::exception& e) {
    fail("search", path + ": cannot load the HNSW graph: " + e.what());
  }
  return g;
}

void HnswGraph::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  try {
    impl_->h->saveIndex(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    fail("search", "cannot write '" + path + "': " + e.what());
  }
  // hnswlib's ofstream does not report a full disk: check the size it left.
  std::error_code ec;
  const auto sz = std::filesystem::file_size(tmp, ec);
  if (ec || sz == 0) {
    std::remove(tmp.c_str());
    fail("search", "cannot write '" + path + "': " + (ec ? ec.message() : "nothing written"));
  }
  fsync_path(tmp, O_RDONLY);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("search", "cannot write '" + path + "': " + std::strerror(err));
  }
  fsync_path(std::filesystem::path(path).parent_path().string(), O_RDONLY | O_DIRECTORY);
}

void HnswGraph::add(const float* rows, const uint64_t* labels, int64_t n, int threads) {
  auto& h = *impl_->h;
  if (n <= 0) return;
  const size_t need = h.cur_element_count + size_t(n);
  if (need > h.max_elements_) h.resizeIndex(std::max(need, h.max_elements_ * 3 / 2));
  for (int64_t i = 0; i < n; ++i)
    PEFT_CHECK(!h.label_lookup_.count(labels[i]), "search", "label " + std::to_string(labels[i]) + " is already in the graph");
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, n));
  // hnswlib inserts concurrently (per-node locks); the first insert sets the
  // entry point, so it goes alone when the graph is empty.
  int64_t start = 0;
  if (h.cur_element_count == 0) {
    h.addPoint(rows, labels[0]);
    start = 1;
  }
  std::atomic<int64_t> next{start};
  auto work = [&] {
    for (int64_t i; (i = next++) < n;) h.addPoint(rows + i * dims_, labels[i]);
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& t : pool) t.join();
  }
}

void HnswGraph::mark_deleted(uint64_t label) {
  if (contains(label)) impl_->h->markDelete(label);
}

bool HnswGraph::contains(uint64_t label) const {
  const auto& h = *impl_->h;
  auto it = h.label_lookup_.find(label);
  return it != h.label_lookup_.end() && !h.isMarkedDeleted(it->second);
}

namespace {

// hnswlib's result heap holds (distance, label) with the worst on top.
std::vector<ScoredLabel> drain(std::priority_queue<std::pair<float, hnswlib::labeltype>> q, int64_t k) {
  std::vector<ScoredLabel> out;
  out.reserve(q.size());
  while (!q.empty()) {
    out.push_back({1.0f - q.top().first, q.top().second});
    q.pop();
  }
  std::reverse(out.begin(), out.end());
  std::stable_sort(out.begin(), out.end(), [](const ScoredLabel& a, const ScoredLabel& b) {
    return a.score != b.score ? a.score > b.score : a.label < b.label;
  });
  if (int64_t(out.size()) > k) out.resize(size_t(k));
  return out;
}

}  // namespace

std::vector<ScoredLabel> HnswGraph::search(const float* query, int64_t k, int64_t ef) const {
  if (k <= 0 || live() == 0) return {};
  // hnswlib searches with breadth max(ef_, k) where ef_ is index-wide state;
  // asking for max(ef, k) results with ef_ left at its minimum gives a
  // per-query breadth without touching shared state (safe under concurrent
  // searches). The extra results are cut here.
  const size_t want = size_t(std::max(ef, k));
  return drain(impl_->h->searchKnn(query, want), k);
}

std::vector<ScoredLabel> HnswGraph::search_filtered(const float* query, int64_t k, int64_t ef,
                                                    const std::function<bool(uint64_t)>& allow) const {
  if (k <= 0 || live() == 0) return {};
  int64_t want = std::max(ef, k) * 4;
  for (;;) {
    // Past half the graph, a scan costs less than a search that wide.
    if (want * 2 >= live()) return exact(query, k, allow);
    auto all = drain(impl_->h->searchKnn(query, size_t(want)), want);
    std::vector<ScoredLabel> out;
    for (const auto& s : all)
      if (allow(s.label)) out.push_back(s);
    if (int64_t(out.size()) >= k) {
      out.resize(size_t(k));
      return out;
    }
    want *= 4;
  }
}

std::vector<ScoredLabel> HnswGraph::exact(const float* query, int64_t k, const std::function<bool(uint64_t)>& allow) const {
  const auto& h = *impl_->h;
  auto better = [](const ScoredLabel& a, const ScoredLabel& b) {
    return a.score != b.score ? a.score > b.score : a.label < b.label;
  };
  // Min-heap of the k best so far (the worst of them on top).
  std::vector<ScoredLabel> heap;
  if (k <= 0) return heap;
  heap.reserve(size_t(k) + 1);
  for (size_t i = 0; i < h.cur_element_count; ++i) {
    if (h.isMarkedDeleted(hnswlib::tableint(i))) continue;
    const uint64_t label = h.getExternalLabel(hnswlib::tableint(i));
    if (allow && !allow(label)) continue;
    const float d = h.fstdistfunc_(query, h.getDataByInternalId(hnswlib::tableint(i)), h.dist_func_param_);
    ScoredLabel s{1.0f - d, label};
    if (int64_t(heap.size()) < k) {
      heap.push_back(s);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(s, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = s;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  return heap;
}

void HnswGraph::for_each_live(const std::function<void(uint64_t, const float*)>& fn) const {
  const auto& h = *impl_->h;
  for (size_t i = 0; i < h.cur_element_count; ++i) {
    if (h.isMarkedDeleted(hnswlib::tableint(i))) continue;
    fn(h.getExternalLabel(hnswlib::tableint(i)), reinterpret_cast<const float*>(h.getDataByInternalId(hnswlib::tableint(i))));
  }
}

int64_t HnswGraph::distance_computations() const { return int64_t(impl_->h->metric_distance_computations.load()); }

int64_t HnswGraph::m() const { return int64_t(impl_->h->M_); }
int64_t HnswGraph::ef_construction() const { return int64_t(impl_->h->ef_construction_); }
int64_t HnswGraph::elements() const { return int64_t(impl_->h->cur_element_count); }
int64_t HnswGraph::deleted() const { return int64_t(impl_->h->num_deleted_); }

int64_t HnswGraph::memory_bytes() const {
  const auto& h = *impl_->h;
  int64_t b = int64_t(h.max_elements_ * h.size_data_per_element_);          // level 0: links, vector, label
  b += int64_t(h.max_elements_ * (sizeof(void*) + sizeof(int) + sizeof(std::mutex)));  // per-slot pointers, levels, locks
  for (size_t i = 0; i < h.cur_element_count; ++i)
    if (h.element_levels_[i] > 0) b += int64_t(h.size_links_per_element_ * size_t(h.element_levels_[i]));
  b += int64_t(h.label_lookup_.size() * (sizeof(hnswlib::labeltype) + sizeof(hnswlib::tableint) + 2 * sizeof(void*)));
  return b;
}

}  // namespace peft
