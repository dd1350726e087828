#include "core/threads.h"

#include <omp.h>

#include <cstdlib>

namespace peft {

void set_threads(int n) {
  // 0: OMP_NUM_THREADS when the user set it (OpenMP has read it already;
  // ranks of a data-parallel job sharing a machine each get their share),
  // else every core this process may run on.
  if (n <= 0 && std::getenv("OMP_NUM_THREADS")) return;
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace peft
