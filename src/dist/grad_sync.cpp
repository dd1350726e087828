#include "dist/grad_sync.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/error.h"

namespace peft {

GradientSync::GradientSync(Communicator& comm, std::vector<ParamRef<float>> params, int64_t bucket_bytes)
    : comm_(comm), params_(std::move(params)) {
  if (bucket_bytes < static_cast<int64_t>(sizeof(float))) fail("dist", "the gradient bucket must hold at least one number");
  for (const ParamRef<float>& p : params_) total_ += p.numel;
  bucket_ = std::min<int64_t>(bucket_bytes / static_cast<int64_t>(sizeof(float)), std::max<int64_t>(1, total_));
}

int64_t GradientSync::buckets() const { return total_ == 0 ? 0 : (total_ + bucket_ - 1) / bucket_; }

void GradientSync::allreduce() {
  if (comm_.size() == 1 || total_ == 0) return;
  const auto t0 = std::chrono::steady_clock::now();
  // A single tensor is summed where it lies; otherwise through the buffer.
  if (params_.size() == 1) {
    comm_.allreduce_sum(params_[0].grad, params_[0].numel);
  } else {
    buf_.resize(static_cast<size_t>(bucket_));
    // Walk g in pieces [start, start + bucket_): copy the tensors' parts in,
    // sum, copy them back out.
    size_t first = 0;       // first tensor of the piece
    int64_t first_off = 0;  // offset inside it
    for (int64_t start = 0; start < total_; start += bucket_) {
      const int64_t len = std::min(bucket_, total_ - start);
      size_t t = first;
      int64_t off = first_off, filled = 0;
      while (filled < len) {
        const int64_t n = std::min(params_[t].numel - off, len - filled);
        std::memcpy(buf_.data() + filled, params_[t].grad + off, sizeof(float) * n);
        filled += n;
        off += n;
        if (off == params_[t].numel) ++t, off = 0;
      }
      comm_.allreduce_sum(buf_.data(), len);
      t = first, off = first_off, filled = 0;
      while (filled < len) {
        const int64_t n = std::min(params_[t].numel - off, len - filled);
        std::memcpy(params_[t].grad + off, buf_.data() + filled, sizeof(float) * n);
        filled += n;
        off += n;
        if (off == params_[t].numel) ++t, off = 0;
      }
      first = t, first_off = off;
    }
  }
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace peft
