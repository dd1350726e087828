// Threads: OpenMP underneath (oneDNN uses the same runtime, so its GEMMs and
// our loops share one pool). set_threads(0) means all cores.
#pragma once

namespace peft {

void set_threads(int n);
int num_threads();

}  // namespace peft
