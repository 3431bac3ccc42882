#include "base/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lucid {
namespace {

constexpr int kMaxThreads = 64;
// How long a thread spins before it sleeps: kernels follow each other within tens of
// microseconds, and waking a sleeping thread costs about that much again. Bounded, so an
// idle pool stops using the cores.
constexpr auto kSpinTime = std::chrono::microseconds(100);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls ready() until it holds (true) or kSpinTime has passed (false).
template <typename Ready>
bool SpinUntil(Ready ready) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0;; ++i) {
    if (ready()) return true;
    CpuRelax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() - start > kSpinTime) return ready();
  }
}

struct Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t count = 0, chunk = 0, chunks = 0;
  std::atomic<int64_t> next{0};  // next chunk to claim
  std::atomic<int64_t> done{0};  // chunks finished
  std::mutex mu;
  std::condition_variable finished;

  // Claims and runs one chunk; false when none is left.
  bool RunOne() {
    int64_t index = next.fetch_add(1, std::memory_order_relaxed);
    if (index >= chunks) return false;
    int64_t begin = index * chunk;
    (*fn)(begin, std::min(count, begin + chunk));
    if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      std::lock_guard<std::mutex> lock(mu);
      finished.notify_all();
    }
    return true;
  }
};

class Pool {
 public:
  static Pool& Get() {
    static Pool* pool = new Pool();  // never destroyed: workers may outlive static destructors
    return *pool;
  }

  void Run(const std::shared_ptr<Job>& job) {
    EnsureWorkers(static_cast<int>(std::min<int64_t>(job->chunks - 1, kMaxThreads - 1)));
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(job);
      queued_.store(static_cast<int64_t>(queue_.size()), std::memory_order_release);
    }
    if (job->chunks > 2) wake_.notify_all();
    else wake_.notify_one();
    while (job->RunOne()) {
    }
    auto finished = [&] { return job->done.load(std::memory_order_acquire) == job->chunks; };
    if (SpinUntil(finished)) return;
    std::unique_lock<std::mutex> lock(job->mu);
    job->finished.wait(lock, finished);
  }

 private:
  void EnsureWorkers(int wanted) {
    std::lock_guard<std::mutex> lock(mu_);
    while (static_cast<int>(workers_.size()) < wanted) {
      try {
        workers_.emplace_back([this] { WorkerLoop(); });
      } catch (...) {
        return;  // no more threads: the caller runs the remaining chunks itself
      }
      workers_.back().detach();
    }
  }

  void WorkerLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (queue_.empty()) {
        lock.unlock();
        SpinUntil([&] { return queued_.load(std::memory_order_acquire) > 0; });
        lock.lock();
        wake_.wait(lock, [&] { return !queue_.empty(); });
      }
      std::shared_ptr<Job> job = queue_.front();
      if (job->next.load(std::memory_order_relaxed) >= job->chunks) {
        queue_.pop_front();  // every chunk claimed: the job leaves the queue
        queued_.store(static_cast<int64_t>(queue_.size()), std::memory_order_release);
        continue;
      }
      lock.unlock();
      while (job->RunOne()) {
      }
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<int64_t> queued_{0};  // queue_.size(), readable without the lock (spinning)
  std::vector<std::thread> workers_;
};

// Elements per chunk: count split over the workers it deserves, rounded up.
int64_t ChunkSize(int64_t count, int threads, int64_t min_per_chunk) {
  int64_t workers = std::clamp<int64_t>(threads, 1, kMaxThreads);
  workers = std::min(workers, std::max<int64_t>(1, count / std::max<int64_t>(1, min_per_chunk)));
  return (count + workers - 1) / workers;
}

}  // namespace

int64_t ParallelChunks(int64_t count, int threads, int64_t min_per_chunk) {
  if (count <= 0) return 0;
  int64_t chunk = ChunkSize(count, threads, min_per_chunk);
  return (count + chunk - 1) / chunk;
}

void ParallelFor(int64_t count, int threads, const std::function<void(int64_t, int64_t)>& fn, int64_t min_per_chunk) {
  int64_t chunks = ParallelChunks(count, threads, min_per_chunk);
  if (chunks == 0) return;
  if (chunks == 1) {
    fn(0, count);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->count = count;
  job->chunk = ChunkSize(count, threads, min_per_chunk);
  job->chunks = chunks;
  Pool::Get().Run(job);
}

}  // namespace lucid
