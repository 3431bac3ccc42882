// Process-wide operational metrics (served as Prometheus text at GET /metrics, docs/api.md).
// Every metric is a fixed slot of relaxed atomics: recording never takes a lock and never
// allocates, so it is safe on hot paths and from any thread. Labels are small fixed index
// sets (inference mode byte, tx result code, HTTP status class) chosen by the recorder.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>

namespace lucid::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Cumulative buckets are computed at render time: Observe bumps one bucket, the count and
// the sum. A scrape racing an Observe may see the count one ahead of the buckets; Prometheus
// tolerates that.
class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 16;
  explicit Histogram(std::span<const double> upper_bounds);  // ascending, at most kMaxBuckets
  void Observe(double value);
  std::span<const double> bounds() const { return {bounds_.data(), n_}; }
  uint64_t BucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }  // i == n: +Inf
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<double, kMaxBuckets> bounds_{};
  size_t n_ = 0;
  std::array<std::atomic<uint64_t>, kMaxBuckets + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

constexpr size_t kModes = 8;     // protocol::Mode byte values (1..4 used)
constexpr size_t kTxCodes = 32;  // chain::TxCode values (higher codes share the last slot)

struct Registry {
  Registry();
  // Inference (node/inference_node.cc), by mode byte; ok = the node answered with a receipt.
  std::array<Counter, kModes> inference_ok;
  std::array<Counter, kModes> inference_error;
  std::array<Histogram, kModes> inference_seconds;
  Gauge inference_in_flight;
  // zkml proofs made in the background after the answer (queue = waiting for the prover).
  Histogram zkml_proof_seconds;
  Counter zkml_proofs_submitted;
  Counter zkml_proofs_failed;
  Gauge zkml_proofs_waiting;
  // Chain (chain/app.cc): blocks committed by this process and their txs by result code.
  Counter blocks_committed;
  std::array<Counter, kTxCodes> txs_committed;
  // HTTP API (api/server.cc): responses by status class (index 1..5).
  std::array<Counter, 6> http_responses;
};

Registry& Global();

inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace lucid::metrics
