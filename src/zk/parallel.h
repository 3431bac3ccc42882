// Internal: run two independent pieces of work on two threads, or on one when a thread
// cannot be started (nothing throws out of the library). Callers split work so that the
// result does not depend on which happens.
#pragma once

#include <system_error>
#include <thread>

namespace lucid::zk::internal {

template <typename First, typename Second>
void RunPair(bool parallel, First&& first, Second&& second) {
  if (parallel) {
    std::thread worker;
    try {
      worker = std::thread(second);
    } catch (const std::system_error&) {
      parallel = false;
    }
    if (parallel) {
      first();
      worker.join();
      return;
    }
  }
  first();
  second();
}

}  // namespace lucid::zk::internal
