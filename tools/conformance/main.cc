// lucid_conformance: runs ONNX backend tests through lucid::onnx and reports.
//   lucid_conformance --suite LABEL=DIR [--suite ...] [--threads N] [--report FILE]
//                     [--filter SUBSTRING] [--verbose]
// Prints a per-test line to the report file (stdout if none), then the summary:
// "N passed, M failed", unsupported counts by op, and the output hash.
// Exit status: 0 when no test failed, 1 when some failed, 2 on bad usage or missing data.
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tools/conformance/conformance.h"

namespace {

using lucid::conformance::Outcome;

int Usage(const std::string& why) {
  std::cerr << "lucid_conformance: " << why << "\n"
            << "usage: lucid_conformance --suite LABEL=DIR [--suite ...] [--threads N] [--report FILE]"
               " [--filter SUBSTRING] [--verbose]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> suites;
  int threads = 1;
  std::string report_path, filter;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--suite") {
      const char* v = value();
      std::string s = v ? v : "";
      size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 0) return Usage("--suite needs LABEL=DIR");
      suites.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    } else if (arg == "--threads") {
      const char* v = value();
      try {
        threads = v ? std::stoi(v) : 0;
      } catch (const std::exception&) {
        threads = 0;
      }
      if (threads < 1 || threads > 256) return Usage("--threads needs a number in [1, 256]");
    } else if (arg == "--report") {
      const char* v = value();
      if (!v) return Usage("--report needs a file");
      report_path = v;
    } else if (arg == "--filter") {
      const char* v = value();
      if (!v) return Usage("--filter needs a substring");
      filter = v;
    } else if (arg == "--verbose") {
      verbose = true;
    } else {
      return Usage("unknown argument '" + arg + "'");
    }
  }
  if (suites.empty()) return Usage("no --suite given");

  std::vector<lucid::conformance::TestCase> cases;
  for (const auto& [label, dir] : suites) {
    auto found = lucid::conformance::DiscoverSuite(label, dir);
    if (!found.ok()) return Usage(found.status().ToString());
    for (auto& c : *found)
      if (filter.empty() || c.id.find(filter) != std::string::npos) cases.push_back(std::move(c));
  }

  std::ofstream report_file;
  if (!report_path.empty()) {
    report_file.open(report_path, std::ios::trunc);
    if (!report_file) return Usage("cannot write " + report_path);
  }
  std::ostream& report = report_path.empty() ? std::cout : report_file;

  const lucid::conformance::Tolerance tol;
  lucid::crypto::Sha256Stream hash;
  int passed = 0, failed = 0, unsupported = 0;
  uint64_t outputs_hashed = 0;
  std::map<std::string, std::pair<int, std::string>> unsupported_by_op;  // op → count, first reason
  std::vector<std::string> failures;
  std::map<std::string, std::array<int, 3>> by_suite;  // label → passed, failed, unsupported
  const auto start = std::chrono::steady_clock::now();
  for (const auto& c : cases) {
    if (verbose) std::cerr << "running " << c.id << std::endl;
    auto r = lucid::conformance::RunConformanceTest(c.dir, threads, tol);
    // Per-test hash in the report, so two reports show which test's bytes changed.
    lucid::crypto::Sha256Stream test_hash;
    for (const auto& t : r.produced) {
      lucid::Bytes canonical = t.CanonicalBytes();
      hash.Update(canonical);
      test_hash.Update(canonical);
      ++outputs_hashed;
    }
    std::string line = std::string(lucid::conformance::OutcomeName(r.outcome)) + " " + c.id;
    if (!r.produced.empty()) line += " out=" + lucid::ToHex(test_hash.Finish()).substr(0, 16);
    if (!r.detail.empty()) line += ": " + r.detail;
    report << line << "\n";
    report.flush();  // a crash leaves the last finished test in the report
    by_suite[c.id.substr(0, c.id.rfind('/'))][static_cast<int>(r.outcome)]++;
    switch (r.outcome) {
      case Outcome::kPass: ++passed; break;
      case Outcome::kFail:
        ++failed;
        failures.push_back(line);
        break;
      case Outcome::kUnsupported: {
        ++unsupported;
        auto& slot = unsupported_by_op[r.unsupported_key];
        if (slot.first++ == 0) slot.second = c.id + ": " + r.detail;
        break;
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::ostringstream summary;
  summary << "tolerance: float32 |got-want| <= " << tol.atol << " + " << tol.rtol
          << "*|want| (NaN matches NaN, inf exact); integer and bool outputs exact\n";
  summary << "suites:";
  for (const auto& [label, dir] : suites) summary << " " << label << "=" << dir;
  summary << "\n" << cases.size() << " tests, threads " << threads << ", " << static_cast<int>(seconds * 1000) << " ms\n";
  for (const auto& [label, counts] : by_suite)
    summary << "  " << label << ": " << counts[0] << " passed, " << counts[1] << " failed, " << counts[2]
            << " unsupported\n";
  if (!failures.empty()) {
    summary << "failures:\n";
    for (const auto& f : failures) summary << "  " << f << "\n";
  }
  summary << unsupported << " unsupported (refused at load), by op:\n";
  for (const auto& [op, entry] : unsupported_by_op)
    summary << "  " << op << " " << entry.first << "  e.g. " << entry.second << "\n";
  summary << "output hash: " << lucid::ToHex(hash.Finish()) << " (" << outputs_hashed << " output tensors)\n";
  summary << passed << " passed, " << failed << " failed\n";
  if (!report_path.empty()) report << summary.str();
  std::cout << summary.str();
  return failed == 0 ? 0 : 1;
}
