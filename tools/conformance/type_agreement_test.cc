// The load-time dtype check (src/onnx/type_check.cc) against the kernels on the ONNX
// backend tests: every model is loaded with the check and without it. A model the check
// accepts must never meet a kernel refusal at run time (refusals belong at load), and a model
// only the check refuses must be one a kernel refuses at run time on its data (the table is
// never stricter than the kernels). Skipped without test data.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tools/conformance/conformance.h"

namespace lucid::conformance {
namespace {
namespace fs = std::filesystem;

std::vector<TestCase> AllCases() {
  std::vector<TestCase> all;
  auto add = [&](const std::string& label, const fs::path& root) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return;
    auto cases = DiscoverSuite(label, root);
    if (cases.ok()) all.insert(all.end(), cases->begin(), cases->end());
  };
  for (const char* kind : {"node", "pytorch-converted", "pytorch-operator", "simple"})
    add(std::string("debian/") + kind, fs::path(LUCID_ONNX_TESTDATA) / kind);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(LUCID_CONFORMANCE_CACHE, ec))  // onnx-<version>/node
    add(entry.path().filename().string() + "/node", entry.path() / "node");
  return all;
}

bool RunTimeRefusal(const TestResult& r) {
  return r.outcome == Outcome::kFail && r.detail.find(": run: ") != std::string::npos;
}

TEST(TypeAgreementTest, LoadCheckAndKernelsAgreeOnConformanceData) {
  std::vector<TestCase> cases = AllCases();
  if (cases.empty()) GTEST_SKIP() << "no conformance data (libonnx-testdata, .cache/conformance)";
  onnx::LoadOptions unchecked;
  unchecked.check_types = false;
  int ran = 0, refused_by_check = 0;
  for (const TestCase& c : cases) {
    TestResult checked = RunConformanceTest(c.dir, 1, Tolerance{});
    if (checked.outcome != Outcome::kUnsupported) {
      ++ran;
      EXPECT_FALSE(RunTimeRefusal(checked)) << c.id << " loads but a kernel refuses it: " << checked.detail;
      continue;
    }
    TestResult without = RunConformanceTest(c.dir, 1, Tolerance{}, unchecked);
    if (without.outcome == Outcome::kUnsupported) continue;  // refused for another reason too
    ++refused_by_check;
    EXPECT_TRUE(RunTimeRefusal(without)) << c.id << " is refused by the dtype check (" << checked.detail
                                         << ") but its kernels run it: " << OutcomeName(without.outcome);
  }
  // The data is there and loads: 451 Debian cases run on their own (a clean clone has no
  // generated onnx-1.23 cache yet when ctest runs), about 870 with the cache.
  EXPECT_GT(ran, 400);
  RecordProperty("refused_only_by_the_check", refused_by_check);
}

}  // namespace
}  // namespace lucid::conformance
