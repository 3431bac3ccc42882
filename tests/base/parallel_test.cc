#include "base/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace lucid {
namespace {

// Every index is visited exactly once, in chunks whose boundaries depend only on the arguments.
TEST(ParallelForTest, CoversEveryIndexOnceWithFixedChunks) {
  for (int threads : {1, 2, 3, 8, 64, 1000}) {
    for (int64_t count : {0, 1, 2, 7, 64, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
      std::mutex mu;
      std::set<std::pair<int64_t, int64_t>> chunks;
      ParallelFor(count, threads, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[i]++;
        std::lock_guard<std::mutex> lock(mu);
        chunks.insert({begin, end});
      });
      for (int64_t i = 0; i < count; ++i) EXPECT_EQ(hits[i].load(), 1) << count << " " << threads;
      EXPECT_EQ(static_cast<int64_t>(chunks.size()), ParallelChunks(count, threads));
      // Equal chunks, the last possibly shorter.
      if (!chunks.empty()) {
        int64_t size = chunks.begin()->second - chunks.begin()->first;
        int64_t expect_begin = 0;
        for (const auto& [b, e] : chunks) {
          EXPECT_EQ(b, expect_begin);
          EXPECT_TRUE(e - b == size || e == count);
          expect_begin = e;
        }
        EXPECT_EQ(expect_begin, count);
      }
    }
  }
}

TEST(ParallelForTest, MinPerChunkLimitsSplitting) {
  EXPECT_EQ(ParallelChunks(100, 4, 1), 4);
  EXPECT_EQ(ParallelChunks(100, 4, 50), 2);
  EXPECT_EQ(ParallelChunks(100, 4, 1000), 1);
  EXPECT_EQ(ParallelChunks(0, 4), 0);
}

// A chunk that itself calls ParallelFor must not deadlock, even with every worker busy.
TEST(ParallelForTest, NestedCallsFinish) {
  std::atomic<int64_t> total{0};
  ParallelFor(8, 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      ParallelFor(100, 4, [&](int64_t b, int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 800);
}

// Concurrent callers share the pool.
TEST(ParallelForTest, ConcurrentCallers) {
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) ParallelFor(37, 3, [&](int64_t b, int64_t e) { total += e - b; });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 200 * 37);
}

}  // namespace
}  // namespace lucid
