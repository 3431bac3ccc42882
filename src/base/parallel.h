// Data-parallel loops on a process-wide pool of worker threads.
//
// ParallelFor(count, threads, fn) splits [0, count) into at most `threads` contiguous
// chunks of equal size (the last may be shorter) and calls fn(begin, end) once per chunk;
// the chunk boundaries depend only on count, threads and min_per_chunk, never on timing,
// so a caller whose chunks write disjoint outputs gets the same bytes for any thread count.
// The calling thread runs chunks too and claims chunks no worker has started, so nested
// calls (a ParallelFor inside a chunk) cannot deadlock. Workers are started lazily, once,
// and reused: a call costs a wake-up, not a thread creation; idle threads spin ~100 µs
// before they sleep, so back-to-back kernels rarely pay even that.
// Thread-safety: ParallelFor may be called from any thread, concurrently.
#pragma once

#include <cstdint>
#include <functional>

namespace lucid {

// min_per_chunk: fewer chunks are used when count / threads would go below it (work too
// small to pay for a wake-up); 1 means split whenever threads > 1.
void ParallelFor(int64_t count, int threads, const std::function<void(int64_t, int64_t)>& fn,
                 int64_t min_per_chunk = 1);

// Chunks ParallelFor would use for these arguments (tests, and callers that size buffers).
int64_t ParallelChunks(int64_t count, int threads, int64_t min_per_chunk = 1);

}  // namespace lucid
