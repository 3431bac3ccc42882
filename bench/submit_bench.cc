// SubmitResult (vanilla) throughput and latency (issue 7): the same pre-signed txs settled by
// the solo block producer in process, or by a CometBFT network through broadcast_tx_sync
// (bench/submit_bench.py runs both, the latter on a 4-validator localnet).
//
// Load shape: S senders (one inference node key each, with its own requester key), each
// sending its N/S txs in nonce order as fast as the chain takes them (one in flight per
// sender; in comet mode sender s talks to validator s mod V). Every tx is a complete vanilla
// SubmitResult: a signed request, the receipt and the node's signature over it; the chain
// checks both signatures, the tx nonce, the request nonce, fees and balances, then pays node
// and publisher and stores the receipt (validators do not run the model for vanilla, so the
// receipt's output hash is the one a node computed for these inputs, here a fixed value).
// Latency of a tx: from just before its submission to its block's commit (solo: the block's
// time stamp, taken when it is produced; comet: CometBFT block h+1's time, the median time of
// the precommits that committed block h). Throughput: committed txs / (last commit - first
// submission).
//   submit_bench accounts [--senders S]                   addresses to fund (JSON)
//   submit_bench solo [--txs N] [--senders S] [--block-time MS] [--max-block-txs M]
//   submit_bench comet --rpc URL[,URL...] --chain-id ID [--txs N] [--senders S] [--kvstore]
//                       --kvstore: the network runs CometBFT's example app (abci-cli kvstore)
//                       instead of Lucid; the load is "key=value" txs of the Lucid txs' size,
//                       so the figure is CometBFT's own ceiling on this machine
//   submit_bench soak [--receipts N] [--report-every K] [--queries Q] [--senders S] [--dir D]
//                                                         settle N receipts on solo (bench/soak.py)
// solo and soak also take --sig-threads T (block signature warm-up threads, 1 = off) and
// --sig-cache C (signature cache entries, 0 = off).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "consensus/solo.h"
#include "crypto/cid.h"
#include "crypto/hash.h"
#include "protocol/types.h"
#include "verify/sig_cache.h"
#include "verify/verify.h"

using namespace lucid;
using json = nlohmann::json;

namespace {

constexpr uint64_t kPrice = 3;
constexpr uint64_t kFee = 10;

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
double NowMsF() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

crypto::PrivateKey Publisher() { return crypto::PrivateKey::FromSeed("bench-publisher"); }
crypto::PrivateKey NodeKey(int s) { return crypto::PrivateKey::FromSeed("bench-node-" + std::to_string(s)); }
crypto::PrivateKey RequesterKey(int s) { return crypto::PrivateKey::FromSeed("bench-requester-" + std::to_string(s)); }
crypto::Cid ModelCid() { return crypto::Cid::Of(ToBytes("lucid bench manifest digits-mlp 1.0")); }

Bytes Sign(const crypto::PrivateKey& key, const std::string& chain_id, uint64_t nonce, protocol::TxBody body) {
  protocol::Tx tx;
  tx.chain_id = chain_id;
  tx.from = key.address();
  tx.nonce = nonce;
  tx.max_tx_fee = 1'000'000;
  tx.body = std::move(body);
  return protocol::SignedTx::Sign(std::move(tx), key).Encode();
}

std::vector<Bytes> SetupTxs(const std::string& chain_id, int senders) {
  std::vector<Bytes> out;
  out.push_back(Sign(Publisher(), chain_id, 0, protocol::CreateRepoTx{"bench-digits", "", "image-classification", "MIT", {}}));
  out.push_back(Sign(Publisher(), chain_id, 1, protocol::PublishVersionTx{"bench-digits", 1, 0, ModelCid(), kPrice, std::nullopt}));
  for (int s = 0; s < senders; ++s)
    out.push_back(Sign(NodeKey(s), chain_id, 0,
                       protocol::RegisterNodeTx{1000, protocol::ModeBit(protocol::Mode::kVanilla), "http://bench-node"}));
  return out;
}

// Sender s's txs, nonces 1.. (0 registered the node).
std::vector<Bytes> LoadTxs(const std::string& chain_id, int s, size_t n, size_t first = 0,
                           std::vector<Hash32>* receipt_ids = nullptr) {
  const crypto::PrivateKey node = NodeKey(s), requester = RequesterKey(s);
  const Hash32 input_hash = crypto::Sha256(ToBytes("bench input " + std::to_string(s)));
  const Hash32 output_hash = crypto::Sha256(ToBytes("bench output " + std::to_string(s)));
  std::vector<Bytes> out;
  out.reserve(n);
  for (size_t i = first; i < first + n; ++i) {
    protocol::InferenceRequest req;
    req.chain_id = chain_id;
    req.requester = requester.address();
    req.model = ModelCid();
    req.mode = protocol::Mode::kVanilla;
    req.input_hash = input_hash;
    req.seed = i;
    req.max_fee = kFee + kPrice;
    req.nonce = i;
    req.node = node.address();
    protocol::SubmitResultTx r;
    r.request = protocol::SignedRequest{req, requester.Sign(protocol::SigningDigest(req.Hash()))};
    r.receipt.chain_id = chain_id;
    r.receipt.request_hash = req.Hash();
    r.receipt.model = req.model;
    r.receipt.input_hash = req.input_hash;
    r.receipt.output_hash = output_hash;
    r.receipt.mode = req.mode;
    r.receipt.node = node.address();
    r.receipt.engine = "lucid-onnx/bench/1";
    r.receipt.fee = kFee;
    r.evidence = verify::MakeVanillaEvidence(r.receipt, node);
    if (receipt_ids) receipt_ids->push_back(r.receipt.Id());
    out.push_back(Sign(node, chain_id, i + 1, std::move(r)));
  }
  return out;
}

void GenerateLoad(const std::string& chain_id, int senders, size_t txs, std::vector<std::vector<Bytes>>& per_sender) {
  per_sender.assign(senders, {});
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s)
    threads.emplace_back([&, s] { per_sender[s] = LoadTxs(chain_id, s, txs / senders); });
  for (auto& t : threads) t.join();
}

json Accounts(int senders) {
  json a = json::array();
  a.push_back(Publisher().address().ToHex());
  for (int s = 0; s < senders; ++s) {
    a.push_back(NodeKey(s).address().ToHex());
    a.push_back(RequesterKey(s).address().ToHex());
  }
  return a;
}

struct Stats {
  size_t submitted = 0, committed = 0, refused = 0;
  double first_submit_ms = 0, last_commit_ms = 0;
  std::vector<double> latencies_ms;
  uint64_t first_height = 0, last_height = 0;
  std::string first_refusal;
};

json Report(const std::string& mode, Stats& st, json shape) {
  std::sort(st.latencies_ms.begin(), st.latencies_ms.end());
  auto pct = [&](double p) {
    if (st.latencies_ms.empty()) return 0.0;
    size_t i = static_cast<size_t>(p * static_cast<double>(st.latencies_ms.size() - 1) + 0.5);
    return st.latencies_ms[i];
  };
  const double secs = (st.last_commit_ms - st.first_submit_ms) / 1000.0;
  return {{"mode", mode},
          {"shape", shape},
          {"submitted", st.submitted},
          {"committed", st.committed},
          {"refused", st.refused},
          {"first_refusal", st.first_refusal},
          {"blocks", st.last_height >= st.first_height ? st.last_height - st.first_height + 1 : 0},
          {"seconds", secs},
          {"tx_per_s", secs > 0 ? static_cast<double>(st.committed) / secs : 0.0},
          {"latency_ms", {{"p50", pct(0.5)}, {"p90", pct(0.9)}, {"p99", pct(0.99)}, {"max", pct(1.0)}}}};
}

// A started solo producer over a fresh store at dir: `senders` funded accounts, one validator,
// the setup txs (node registrations, the model) settled. Null (and a message) on failure.
std::unique_ptr<consensus::SoloProducer> StartSolo(const std::filesystem::path& dir, const std::string& chain_id,
                                                   int senders, uint64_t balance, int block_ms, size_t max_block_txs,
                                                   size_t max_mempool_txs, const char* what) {
  const crypto::PrivateKey validator = crypto::PrivateKey::FromSeed("bench-validator");
  chain::Genesis g;
  g.chain_id = chain_id;
  g.genesis_time_ms = 1;
  g.params.tx_fee_per_byte = 1;
  g.params.min_node_stake = 1000;
  for (const auto& a : Accounts(senders)) g.accounts.push_back({*crypto::Address::FromHex(a.get<std::string>()), balance});
  g.validators = {validator.address()};
  consensus::SoloConfig cfg;
  cfg.block_time = std::chrono::milliseconds(block_ms);
  cfg.max_block_txs = max_block_txs;
  cfg.max_mempool_txs = max_mempool_txs;
  auto producer = consensus::SoloProducer::Open(dir.string(), g, validator, cfg);
  if (!producer.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, producer.status().ToString().c_str());
    return nullptr;
  }
  if (!(*producer)->Start().ok()) return nullptr;
  for (const Bytes& tx : SetupTxs(chain_id, senders)) {
    auto r = (*producer)->SubmitAndWait(tx, std::chrono::seconds(30));
    if (!r.ok() || r->code != chain::TxCode::kOk) {
      std::fprintf(stderr, "setup tx refused: %s\n", r.ok() ? r->log.c_str() : r.status().ToString().c_str());
      return nullptr;
    }
  }
  return std::move(*producer);
}

// ---- solo ----
int RunSolo(size_t txs, int senders, int block_ms, size_t max_block_txs) {
  const std::string chain_id = "lucid-bench-solo";
  const auto dir = std::filesystem::temp_directory_path() / ("lucid_submit_bench_" + std::to_string(NowMs()));
  auto producer = StartSolo(dir, chain_id, senders, 1'000'000'000'000, block_ms, max_block_txs, txs + 1000, "solo");
  if (!producer) return 1;
  auto& p = *producer;
  std::vector<std::vector<Bytes>> load;
  GenerateLoad(chain_id, senders, txs, load);
  const uint64_t start_height = p.WithApp([](const chain::Application& a) { return a.Info().height; });

  Stats st;
  std::map<Hash32, double> submit_ms;
  std::mutex mu;
  std::atomic<size_t> refused{0};
  std::string first_refusal;
  st.first_submit_ms = NowMsF();
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      for (const Bytes& tx : load[s]) {
        const double t = NowMsF();
        const Hash32 h = crypto::Sha256(tx);
        {
          std::lock_guard<std::mutex> lock(mu);
          submit_ms[h] = t;
        }
        auto r = p.BroadcastTx(tx);
        while (!r.ok() && r.status().code() == Code::kUnavailable) {  // mempool full: back off
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          r = p.BroadcastTx(tx);
        }
        if (!r.ok() || r->code != chain::TxCode::kOk) {
          std::lock_guard<std::mutex> lock(mu);
          if (refused++ == 0) first_refusal = r.ok() ? r->log : r.status().ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  st.submitted = txs / senders * senders;
  while (p.mempool_size() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  p.Stop();
  const uint64_t end_height = p.WithApp([](const chain::Application& a) { return a.Info().height; });
  st.first_height = start_height + 1;
  st.last_height = end_height;
  for (uint64_t h = start_height + 1; h <= end_height; ++h) {
    auto b = p.WithApp([&](const chain::Application& a) { return a.GetBlock(h); });
    if (!b.ok()) continue;
    const double commit_ms = static_cast<double>(b->header.header.time_ms);
    for (const chain::TxResult& r : b->results) {
      auto it = submit_ms.find(r.tx_hash);
      if (it == submit_ms.end()) continue;
      if (r.code == chain::TxCode::kOk) {
        ++st.committed;
        st.latencies_ms.push_back(std::max(0.0, commit_ms - it->second));
        st.last_commit_ms = std::max(st.last_commit_ms, commit_ms);
      } else {
        ++st.refused;
      }
    }
  }
  st.refused += refused.load();
  st.first_refusal = first_refusal;
  json shape = {{"senders", senders}, {"txs", st.submitted}, {"block_time_ms", block_ms},
                {"max_block_txs", max_block_txs}, {"in_flight_per_sender", 1}, {"tx_bytes", load[0][0].size()},
                {"sig_threads", chain::SignatureThreads()}, {"sig_cache", verify::SignatureCacheCapacity()}};
  std::printf("%s\n", Report("solo", st, shape).dump().c_str());
  producer.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

// ---- soak (issue 7: settle many receipts on the solo producer, in process) ----
uint64_t DirBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

uint64_t RssBytes() {  // VmRSS of this process (Linux /proc)
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %lu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

// Settles `receipts` vanilla receipts in chunks: each chunk's txs are signed first (timed
// apart), then S senders broadcast them (one at a time each) and the chunk is done when the
// mempool is empty. Prints one JSON line every `every` receipts and a final one with query
// latencies over `queries` random receipt ids and accounts.
int RunSoak(size_t receipts, int senders, int block_ms, size_t max_block_txs, size_t every, size_t queries,
            const std::string& keep_dir) {
  const std::string chain_id = "lucid-bench-soak";
  const auto dir = keep_dir.empty()
                       ? std::filesystem::temp_directory_path() / ("lucid_soak_" + std::to_string(NowMs()))
                       : std::filesystem::path(keep_dir);
  const size_t chunk = std::min<size_t>(every, 20000) / static_cast<size_t>(senders) * static_cast<size_t>(senders);
  if (chunk == 0) return 2;
  auto producer = StartSolo(dir, chain_id, senders, 1'000'000'000'000'000, block_ms, max_block_txs, chunk + 1000, "soak");
  if (!producer) return 1;
  auto& p = *producer;
  // A uniform sample of the receipt ids (reservoir sampling, fixed size) for the queries at the
  // end: keeping every id would grow the bench's own memory with the chain (32 MB at 1M) and
  // blur the RSS figure, which is meant to show the node's memory staying flat.
  constexpr size_t kSampledIds = 1 << 16;
  std::vector<Hash32> ids;
  ids.reserve(kSampledIds);
  std::mt19937_64 sample_rng(11);
  size_t ids_seen = 0;
  size_t done = 0, refused = 0, next_report = every;
  double settle_s = 0, sign_s = 0, interval_settle_s = 0;
  size_t interval_done = 0;
  const double t0 = NowMsF();
  std::string first_refusal;
  while (done < receipts) {
    const size_t n = std::min(chunk, (receipts - done) / static_cast<size_t>(senders) * static_cast<size_t>(senders));
    if (n == 0) break;
    const size_t per = n / static_cast<size_t>(senders);
    const size_t first = done / static_cast<size_t>(senders);  // per-sender index of the chunk's first tx
    const double ts = NowMsF();
    std::vector<std::vector<Bytes>> load(senders);
    std::vector<std::vector<Hash32>> chunk_ids(senders);
    {
      std::vector<std::thread> threads;
      for (int s = 0; s < senders; ++s)
        threads.emplace_back([&, s] { load[s] = LoadTxs(chain_id, s, per, first, &chunk_ids[s]); });
      for (auto& t : threads) t.join();
    }
    for (auto& v : chunk_ids)
      for (const Hash32& id : v) {
        if (ids.size() < kSampledIds) ids.push_back(id);
        else if (const size_t j = sample_rng() % (ids_seen + 1); j < kSampledIds) ids[j] = id;
        ++ids_seen;
      }
    const double tb = NowMsF();
    sign_s += (tb - ts) / 1000.0;
    std::atomic<size_t> chunk_refused{0};
    std::mutex mu;
    {
      std::vector<std::thread> threads;
      for (int s = 0; s < senders; ++s)
        threads.emplace_back([&, s] {
          for (const Bytes& tx : load[s]) {
            auto r = p.BroadcastTx(tx);
            while (!r.ok() && r.status().code() == Code::kUnavailable) {
              std::this_thread::sleep_for(std::chrono::milliseconds(5));
              r = p.BroadcastTx(tx);
            }
            if (!r.ok() || r->code != chain::TxCode::kOk) {
              std::lock_guard<std::mutex> lock(mu);
              if (chunk_refused++ == 0 && first_refusal.empty()) first_refusal = r.ok() ? r->log : r.status().ToString();
            }
          }
        });
      for (auto& t : threads) t.join();
    }
    while (p.mempool_size() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const double te = NowMsF();
    settle_s += (te - tb) / 1000.0;
    interval_settle_s += (te - tb) / 1000.0;
    refused += chunk_refused.load();
    done += n;
    interval_done += n;
    if (done >= next_report || done >= receipts) {
      const uint64_t height = p.WithApp([](const chain::Application& a) { return a.Info().height; });
      json line = {{"receipts", done},
                   {"refused", refused},
                   {"height", height},
                   {"state_bytes", DirBytes(dir)},
                   {"rss_bytes", RssBytes()},
                   {"tx_per_s_interval", interval_settle_s > 0 ? interval_done / interval_settle_s : 0.0},
                   {"tx_per_s_total", settle_s > 0 ? done / settle_s : 0.0},
                   {"sign_s", sign_s},
                   {"elapsed_s", (NowMsF() - t0) / 1000.0}};
      std::printf("%s\n", line.dump().c_str());
      std::fflush(stdout);
      interval_done = 0;
      interval_settle_s = 0;
      while (next_report <= done) next_report += every;
    }
  }
  p.Stop();
  // Query latency over random receipts and accounts (committed state, under the app lock as
  // an RPC server would take it).
  std::mt19937_64 rng(7);
  auto time_us = [](auto&& fn) {
    const auto a = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
  };
  std::vector<double> get_receipt, prove_receipt, get_account;
  size_t query_errors = 0;
  const json accounts = Accounts(senders);
  for (size_t q = 0; q < queries && !ids.empty(); ++q) {
    const Hash32 id = ids[rng() % ids.size()];
    get_receipt.push_back(time_us([&] {
      query_errors += !p.WithApp([&](const chain::Application& a) { return a.GetReceipt(id).ok(); });
    }));
    prove_receipt.push_back(time_us([&] {
      query_errors += !p.WithApp([&](const chain::Application& a) { return a.ProveReceipt(id).ok(); });
    }));
    const auto addr = *crypto::Address::FromHex(accounts[rng() % accounts.size()].get<std::string>());
    get_account.push_back(time_us([&] {
      query_errors += !p.WithApp([&](const chain::Application& a) { return a.GetAccount(addr).ok(); });
    }));
  }
  auto pct = [](std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
  };
  auto lat = [&](const std::vector<double>& v) { return json{{"p50_us", pct(v, 0.5)}, {"p99_us", pct(v, 0.99)}}; };
  const uint64_t height = p.WithApp([](const chain::Application& a) { return a.Info().height; });
  json end = {{"done", true},
              {"receipts", done},
              {"refused", refused},
              {"first_refusal", first_refusal},
              {"height", height},
              {"state_bytes", DirBytes(dir)},
              {"rss_bytes", RssBytes()},
              {"tx_per_s_total", settle_s > 0 ? done / settle_s : 0.0},
              {"settle_s", settle_s},
              {"sign_s", sign_s},
              {"elapsed_s", (NowMsF() - t0) / 1000.0},
              {"queries", queries},
              {"query_errors", query_errors},
              {"GetReceipt", lat(get_receipt)},
              {"ProveReceipt", lat(prove_receipt)},
              {"GetAccount", lat(get_account)},
              {"shape", {{"senders", senders}, {"block_time_ms", block_ms}, {"max_block_txs", max_block_txs},
                         {"chunk", chunk}}}};
  std::printf("%s\n", end.dump().c_str());
  producer.reset();
  if (keep_dir.empty()) std::filesystem::remove_all(dir);
  return query_errors == 0 && refused == 0 ? 0 : 1;
}

// ---- comet ----
struct Rpc {
  explicit Rpc(const std::string& url) : client(url) {
    client.set_keep_alive(true);
    client.set_read_timeout(60, 0);
  }
  Result<json> Call(const std::string& method, const json& params) {
    const json body = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
    auto res = client.Post("/", body.dump(), "application/json");
    if (!res) return Unavailable(method + ": " + httplib::to_string(res.error()));
    json j = json::parse(res->body, nullptr, false);
    if (j.is_discarded()) return Unavailable(method + ": not JSON");
    if (j.contains("error")) return Unavailable(method + ": " + j["error"].dump());
    return j["result"];
  }
  httplib::Client client;
};

std::string B64(ByteView b) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) o.push_back(k[(v >> s) & 63]);
  }
  if (i < b.size()) {
    uint32_t v = uint32_t{b[i]} << 16;
    if (i + 1 < b.size()) v |= uint32_t{b[i + 1]} << 8;
    o.push_back(k[(v >> 18) & 63]);
    o.push_back(k[(v >> 12) & 63]);
    o.push_back(i + 1 < b.size() ? k[(v >> 6) & 63] : '=');
    o.push_back('=');
  }
  return o;
}

Bytes UnB64(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// RFC 3339 with fractional seconds (UTC, "Z") → ms since the epoch.
double ParseTimeMs(const std::string& t) {
  std::tm tm{};
  int frac_digits = 0;
  double frac = 0;
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const size_t dot = t.find('.');
  if (dot != std::string::npos) {
    double scale = 0.1;
    for (size_t i = dot + 1; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); ++i, ++frac_digits) {
      frac += (t[i] - '0') * scale;
      scale /= 10;
    }
  }
  return static_cast<double>(timegm(&tm)) * 1000.0 + frac * 1000.0;
}

int64_t Height(Rpc& rpc) {
  auto s = rpc.Call("status", json::object());
  if (!s.ok()) return -1;
  return std::stoll((*s)["sync_info"]["latest_block_height"].get<std::string>());
}

// CometBFT's own example app (abci-cli kvstore) takes "key=value" txs: the same count and size
// as the Lucid load, so the two localnets carry the same bytes and differ only in the app.
void GenerateKvstoreLoad(int senders, size_t txs, size_t tx_bytes, std::vector<std::vector<Bytes>>& per_sender) {
  per_sender.assign(static_cast<size_t>(senders), {});
  for (int s = 0; s < senders; ++s)
    for (size_t i = 0; i < txs / static_cast<size_t>(senders); ++i) {
      std::string kv = "bench-s" + std::to_string(s) + "-n" + std::to_string(i) + "=";
      kv.resize(std::max(tx_bytes, kv.size() + 1), 'v');
      per_sender[static_cast<size_t>(s)].push_back(Bytes(kv.begin(), kv.end()));
    }
}

// kvstore: the load is GenerateKvstoreLoad's, sized like the Lucid load (no setup txs).
int RunComet(const std::vector<std::string>& urls, const std::string& chain_id, size_t txs, int senders,
             bool kvstore) {
  Rpc setup(urls[0]);
  const int64_t h0 = Height(setup);
  if (h0 < 0) {
    std::fprintf(stderr, "comet: no RPC at %s\n", urls[0].c_str());
    return 1;
  }
  std::vector<std::vector<Bytes>> load;
  if (kvstore) {
    std::vector<std::vector<Bytes>> lucid_load;
    GenerateLoad(chain_id, senders, static_cast<size_t>(senders), lucid_load);
    GenerateKvstoreLoad(senders, txs, lucid_load[0][0].size(), load);
  }
  // Setup txs (repo, version, node registrations), then wait two blocks.
  for (const Bytes& tx : kvstore ? std::vector<Bytes>{} : SetupTxs(chain_id, senders)) {
    auto r = setup.Call("broadcast_tx_sync", {{"tx", B64(tx)}});
    if (!r.ok() || (*r)["code"].get<int>() != 0) {
      std::fprintf(stderr, "setup tx refused: %s\n", r.ok() ? r->dump().c_str() : r.status().ToString().c_str());
      return 1;
    }
  }
  if (!kvstore) {
    const Hash32 last_setup = crypto::Sha256(SetupTxs(chain_id, senders).back());
    for (int i = 0; i < 600; ++i) {
      auto r = setup.Call("tx", {{"hash", B64(last_setup)}});  // tx takes the hash as base64 bytes in JSON-RPC
      if (r.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    GenerateLoad(chain_id, senders, txs, load);
  }
  const int64_t start_height = Height(setup);

  Stats st;
  std::map<Hash32, double> submit_ms;
  std::mutex mu;
  size_t refused = 0;
  std::string first_refusal;
  st.first_submit_ms = NowMsF();
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      Rpc rpc(urls[static_cast<size_t>(s) % urls.size()]);
      for (const Bytes& tx : load[s]) {
        const double t = NowMsF();
        {
          std::lock_guard<std::mutex> lock(mu);
          submit_ms[crypto::Sha256(tx)] = t;
        }
        for (int attempt = 0;; ++attempt) {
          auto r = rpc.Call("broadcast_tx_sync", {{"tx", B64(tx)}});
          if (r.ok() && (*r)["code"].get<int>() == 0) break;
          const std::string why = r.ok() ? r->dump() : r.status().ToString();
          if (!r.ok() && why.find("mempool is full") != std::string::npos && attempt < 1000) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
          }
          std::lock_guard<std::mutex> lock(mu);
          if (refused++ == 0) first_refusal = why;
          break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  st.submitted = txs / senders * senders;
  // Wait until every submitted tx is in a block (or nothing new for 20 s).
  std::map<int64_t, double> block_time;
  int64_t scanned = start_height;
  size_t seen = 0;
  double last_progress = NowMsF();
  std::vector<std::pair<Hash32, int64_t>> included;
  while (seen < st.submitted - refused && NowMsF() - last_progress < 20000) {
    const int64_t top = Height(setup);
    while (scanned < top) {
      ++scanned;
      auto b = setup.Call("block", {{"height", std::to_string(scanned)}});
      if (!b.ok()) {
        --scanned;
        break;
      }
      block_time[scanned] = ParseTimeMs((*b)["block"]["header"]["time"].get<std::string>());
      const json& data_txs = (*b)["block"]["data"]["txs"];
      if (data_txs.is_array())
        for (const auto& t : data_txs) {
          const Hash32 h = crypto::Sha256(UnB64(t.get<std::string>()));
          if (submit_ms.count(h)) {
            included.push_back({h, scanned});
            ++seen;
            last_progress = NowMsF();
          }
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The commit time of block h is block h+1's time.
  const int64_t last_included = included.empty() ? start_height : included.back().second;
  while (Height(setup) < last_included + 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto next = setup.Call("block", {{"height", std::to_string(last_included + 1)}});
  if (next.ok()) block_time[last_included + 1] = ParseTimeMs((*next)["block"]["header"]["time"].get<std::string>());
  // Results: every included tx passed ProcessProposal, so it executes ok; check the block results.
  std::map<int64_t, std::vector<int>> codes;
  for (int64_t h = start_height + 1; h <= last_included; ++h) {
    auto r = setup.Call("block_results", {{"height", std::to_string(h)}});
    if (!r.ok()) continue;
    for (const auto& t : (*r)["txs_results"].is_array() ? (*r)["txs_results"] : json::array())
      codes[h].push_back(t.value("code", 0));
  }
  size_t bad_codes = 0;
  for (auto& [h, c] : codes)
    for (int code : c) bad_codes += code != 0;
  for (const auto& [h, height] : included) {
    auto it = block_time.find(height + 1);
    if (it == block_time.end()) continue;
    ++st.committed;
    st.latencies_ms.push_back(std::max(0.0, it->second - submit_ms[h]));
    st.last_commit_ms = std::max(st.last_commit_ms, it->second);
  }
  st.committed -= std::min(st.committed, bad_codes);
  st.refused = refused + bad_codes;
  st.first_refusal = first_refusal;
  st.first_height = static_cast<uint64_t>(start_height + 1);
  st.last_height = static_cast<uint64_t>(last_included);
  json shape = {{"senders", senders}, {"txs", st.submitted}, {"validators_rpc", urls.size()},
                {"in_flight_per_sender", 1}, {"broadcast", "broadcast_tx_sync"}, {"tx_bytes", load[0][0].size()},
                {"app", kvstore ? "abci-cli kvstore" : "lucid validator"}};
  std::printf("%s\n", Report(kvstore ? "kvstore" : "comet", st, shape).dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: submit_bench accounts|solo|comet|soak [--txs N] [--senders S] [--block-time MS] "
                         "[--max-block-txs M] [--rpc URL,..] [--chain-id ID] [--kvstore]\n");
    return 2;
  }
  const std::string mode = argv[1];
  size_t txs = 20000, max_block_txs = 10000, receipts = 100000, every = 100000, queries = 2000;
  std::string keep_dir;
  int senders = 4, block_ms = 200;
  std::vector<std::string> urls;
  std::string chain_id;
  bool kvstore = false;
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--kvstore") {  // a flag without a value: take it out of the pairs
      kvstore = true;
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--txs") txs = std::stoul(v);
    else if (k == "--senders") senders = std::stoi(v);
    else if (k == "--block-time") block_ms = std::stoi(v);
    else if (k == "--max-block-txs") max_block_txs = std::stoul(v);
    else if (k == "--chain-id") chain_id = v;
    else if (k == "--receipts") receipts = std::stoul(v);
    else if (k == "--report-every") every = std::stoul(v);
    else if (k == "--queries") queries = std::stoul(v);
    else if (k == "--dir") keep_dir = v;
    else if (k == "--sig-threads") chain::SetSignatureThreads(std::stoi(v));
    else if (k == "--sig-cache") verify::SetSignatureCacheCapacity(std::stoul(v));
    else if (k == "--rpc") {
      size_t pos = 0;
      std::string s = v;
      while ((pos = s.find(',')) != std::string::npos) {
        urls.push_back(s.substr(0, pos));
        s.erase(0, pos + 1);
      }
      if (!s.empty()) urls.push_back(s);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (senders < 1) return 2;
  if (mode == "accounts") {
    std::printf("%s\n", Accounts(senders).dump().c_str());
    return 0;
  }
  if (mode == "solo") return RunSolo(txs, senders, block_ms, max_block_txs);
  if (mode == "soak") return RunSoak(receipts, senders, block_ms, max_block_txs, every, queries, keep_dir);
  if (mode == "comet") {
    if (urls.empty() || chain_id.empty()) {
      std::fprintf(stderr, "comet needs --rpc and --chain-id\n");
      return 2;
    }
    return RunComet(urls, chain_id, txs, senders, kvstore);
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
