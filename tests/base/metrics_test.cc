#include "base/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lucid::metrics {
namespace {

TEST(Metrics, HistogramBucketsAreUpperInclusive) {
  const double bounds[] = {0.1, 1, 10};
  Histogram h(bounds);
  for (double v : {0.05, 0.1, 0.5, 1.0, 9.0, 10.0, 11.0, 1e9}) h.Observe(v);
  ASSERT_EQ(h.bounds().size(), 3u);
  EXPECT_EQ(h.BucketCount(0), 2u);  // 0.05, 0.1 (le="0.1" includes 0.1)
  EXPECT_EQ(h.BucketCount(1), 2u);  // 0.5, 1
  EXPECT_EQ(h.BucketCount(2), 2u);  // 9, 10
  EXPECT_EQ(h.BucketCount(3), 2u);  // +Inf: 11, 1e9
  EXPECT_EQ(h.Count(), 8u);
  EXPECT_DOUBLE_EQ(h.Sum(), 0.05 + 0.1 + 0.5 + 1.0 + 9.0 + 10.0 + 11.0 + 1e9);
}

TEST(Metrics, ConcurrentRecordingLosesNothing) {
  Counter c;
  Gauge g;
  const double bounds[] = {1};
  Histogram h(bounds);
  constexpr int kThreads = 8, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        c.Inc();
        g.Add(1);
        h.Observe(0.5);
        g.Add(-1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), uint64_t{kThreads} * kEach);
  EXPECT_EQ(g.Value(), 0);
  EXPECT_EQ(h.Count(), uint64_t{kThreads} * kEach);
  EXPECT_EQ(h.BucketCount(0), uint64_t{kThreads} * kEach);
  EXPECT_DOUBLE_EQ(h.Sum(), 0.5 * kThreads * kEach);
}

TEST(Metrics, GlobalRegistryHasAnInferenceHistogramPerMode) {
  Registry& m = Global();
  EXPECT_EQ(&m, &Global());
  for (const Histogram& h : m.inference_seconds) EXPECT_GT(h.bounds().size(), 10u);
  EXPECT_GT(m.zkml_proof_seconds.bounds().size(), 10u);
}

}  // namespace
}  // namespace lucid::metrics
