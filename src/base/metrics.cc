#include "base/metrics.h"

#include <algorithm>
#include <utility>

namespace lucid::metrics {
namespace {
// Seconds: an inference spans sub-millisecond classifiers to minute-long LLM generations.
constexpr double kInferenceBounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
constexpr double kProofBounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};

template <size_t... I>
std::array<Histogram, sizeof...(I)> InferenceHistograms(std::index_sequence<I...>) {
  return {((void)I, Histogram(kInferenceBounds))...};
}
}  // namespace

Histogram::Histogram(std::span<const double> upper_bounds) : n_(std::min(upper_bounds.size(), kMaxBuckets)) {
  std::copy_n(upper_bounds.begin(), n_, bounds_.begin());
}

void Histogram::Observe(double value) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.begin() + n_, value) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Registry::Registry()
    : inference_seconds(InferenceHistograms(std::make_index_sequence<kModes>())), zkml_proof_seconds(kProofBounds) {}

Registry& Global() {
  static Registry registry;
  return registry;
}

}  // namespace lucid::metrics
