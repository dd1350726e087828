#include "embed/loss_cosine.h"

#include "core/error.h"
#include "embed/cosine_rows.h"

namespace peft {

template <typename T>
double cosine_loss(const LossInput<T>& in, T* demb) {
  const int64_t n = in.n, D = in.dims;
  if (in.columns != 2 || !in.labels) fail("embed", "cosine needs scored pairs (sentence1, sentence2, score)");
  if (n == 0) return 0;
  const UnitRows<T> u = unit_rows(in.emb, 2 * n, D);
  double loss = 0;
  std::vector<T> du(demb ? static_cast<size_t>(2 * n * D) : 0);
  for (int64_t i = 0; i < n; ++i) {
    const double c = dot(u.row(i), u.row(n + i), D);
    const double r = c - static_cast<double>(in.labels[i]);
    loss += r * r;
    if (!demb) continue;
    const double g = 2 * r / static_cast<double>(n);
    for (int64_t k = 0; k < D; ++k) {
      du[i * D + k] = static_cast<T>(g * u.row(n + i)[k]);
      du[(n + i) * D + k] = static_cast<T>(g * u.row(i)[k]);
    }
  }
  if (demb) unit_rows_backward(u, du.data(), demb);
  return loss / static_cast<double>(n);
}

template double cosine_loss<float>(const LossInput<float>&, float*);
template double cosine_loss<double>(const LossInput<double>&, double*);

}  // namespace peft
