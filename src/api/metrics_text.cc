#include "api/metrics_text.h"

#include <fmt/format.h>

#include "base/metrics.h"
#include "chain/app.h"
#include "protocol/types.h"

namespace lucid::api {
namespace {

void Head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Go's strconv 'g'-like shortest form; Prometheus accepts any float syntax.
std::string Num(double v) { return fmt::format("{}", v); }

void HistogramLines(std::string& out, std::string_view name, std::string_view labels, const metrics::Histogram& h) {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  auto bounds = h.bounds();
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += h.BucketCount(i);
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, Num(bounds[i]), cumulative);
  }
  cumulative += h.BucketCount(bounds.size());
  fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n{}_count{} {}\n", name, braces, Num(h.Sum()), name, braces, cumulative);
}

constexpr protocol::Mode kModes[] = {protocol::Mode::kVanilla, protocol::Mode::kTee, protocol::Mode::kZkml,
                                     protocol::Mode::kReplay};

}  // namespace

std::string PrometheusText(uint64_t chain_height) {
  const metrics::Registry& m = metrics::Global();
  std::string out;
  out.reserve(8192);
  auto line = [&out](std::string_view name, std::string_view labels, auto value) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
    } else {
      fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
    }
  };

  Head(out, "lucid_chain_height", "gauge", "Height of the last block this node's chain has committed.");
  line("lucid_chain_height", "", chain_height);
  Head(out, "lucid_blocks_committed_total", "counter", "Blocks committed by this process since it started.");
  line("lucid_blocks_committed_total", "", m.blocks_committed.Value());
  Head(out, "lucid_txs_committed_total", "counter", "Txs in blocks committed by this process, by result code.");
  for (size_t c = 0; c < metrics::kTxCodes; ++c) {
    const uint64_t v = m.txs_committed[c].Value();
    if (v == 0 && c != 0) continue;  // code "ok" is always present
    std::string_view name = chain::TxCodeName(static_cast<chain::TxCode>(c));
    line("lucid_txs_committed_total", fmt::format("code=\"{}\"", name), v);
  }

  Head(out, "lucid_inference_requests_total", "counter",
       "Inference requests this node handled (/infer, /v1, /ui/api/infer), by mode and result.");
  for (protocol::Mode mode : kModes) {
    const size_t i = static_cast<size_t>(mode);
    const std::string_view name = protocol::ModeName(mode);
    line("lucid_inference_requests_total", fmt::format("mode=\"{}\",result=\"ok\"", name), m.inference_ok[i].Value());
    line("lucid_inference_requests_total", fmt::format("mode=\"{}\",result=\"error\"", name), m.inference_error[i].Value());
  }
  Head(out, "lucid_inference_duration_seconds", "histogram",
       "Time from accepting an inference request to answering it with a receipt (successful requests), by mode.");
  for (protocol::Mode mode : kModes)
    HistogramLines(out, "lucid_inference_duration_seconds", fmt::format("mode=\"{}\"", protocol::ModeName(mode)),
                   m.inference_seconds[static_cast<size_t>(mode)]);
  Head(out, "lucid_inference_in_flight", "gauge", "Inference requests being checked, run or submitted right now.");
  line("lucid_inference_in_flight", "", m.inference_in_flight.Value());

  Head(out, "lucid_zkml_proof_duration_seconds", "histogram",
       "Time to prove, self-verify and submit a zkml proof (proofs submitted).");
  HistogramLines(out, "lucid_zkml_proof_duration_seconds", "", m.zkml_proof_seconds);
  Head(out, "lucid_zkml_proofs_total", "counter", "zkml proof jobs finished, by result.");
  line("lucid_zkml_proofs_total", "result=\"submitted\"", m.zkml_proofs_submitted.Value());
  line("lucid_zkml_proofs_total", "result=\"failed\"", m.zkml_proofs_failed.Value());
  Head(out, "lucid_zkml_proofs_waiting", "gauge", "zkml proof jobs queued behind the one being proved.");
  line("lucid_zkml_proofs_waiting", "", m.zkml_proofs_waiting.Value());

  Head(out, "lucid_http_responses_total", "counter", "HTTP API responses, by status class.");
  for (size_t c = 1; c <= 5; ++c)
    line("lucid_http_responses_total", fmt::format("class=\"{}xx\"", c), m.http_responses[c].Value());
  return out;
}

}  // namespace lucid::api
