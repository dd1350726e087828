#include "core/format.h"

#include <cstdio>

namespace peft {

std::string format_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  const long t = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

}  // namespace peft
