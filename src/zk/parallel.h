// Internal: run two independent pieces of work on two threads of the process-wide pool
// (base/parallel.h), or one after the other. Callers split work so that the result does
// not depend on which happens.
#pragma once

#include <cstdint>

#include "base/parallel.h"

namespace lucid::zk::internal {

template <typename First, typename Second>
void RunPair(bool parallel, First&& first, Second&& second) {
  if (!parallel) {
    first();
    second();
    return;
  }
  lucid::ParallelFor(2, 2, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      if (part == 0) first();
      else second();
    }
  });
}

}  // namespace lucid::zk::internal
