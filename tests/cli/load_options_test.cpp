// The loading options change where the weights live, never what the model computes:
// `run --jsonl` output is identical with --no-mmap --hugepages thp --warmup (and the
// others); bad values are clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cli_test_util.h"

namespace moe::testing {
namespace {

std::string run_jsonl(const std::string& extra, const std::string& stderr_to = "/dev/null") {
  const ProcessResult r = run_moeinfer("run -m " + model_path("r1-mini-q8_0") +
                                       " -p 'The capital of France is' -n 8 --greedy --ignore-eos --jsonl " + extra +
                                       " 2>" + stderr_to);
  EXPECT_EQ(r.exit_code, 0) << extra;
  return r.out;
}

TEST(LoadOptions, SameOutputWhateverTheLoadingPolicy) {
  const std::string base = run_jsonl("");
  ASSERT_EQ(std::count(base.begin(), base.end(), '\n'), 8);
  EXPECT_EQ(run_jsonl("--no-mmap --hugepages thp --warmup"), base);
  EXPECT_EQ(run_jsonl("--hugepages 1g"), base);
  EXPECT_EQ(run_jsonl("--mlock --warmup"), base);
  EXPECT_EQ(run_jsonl("--numa-node 0"), base);
  EXPECT_EQ(run_jsonl("--no-mmap --numa experts"), base);
  EXPECT_EQ(run_jsonl("--no-mmap --read-method cow"), base);
  EXPECT_EQ(run_jsonl("--no-mmap --read-method pread"), base);
}

TEST(LoadOptions, LogSaysWhatWasObtained) {
  const std::string log = ::testing::TempDir() + "/load_options_log.txt";
  run_jsonl("--hugepages 1g", log);
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("read into memory"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("pages: asked 1 GiB hugetlb pages, got"), std::string::npos) << ss.str();
  // Not a terminal: no progress bar.
  EXPECT_EQ(ss.str().find("loading ["), std::string::npos) << ss.str();
}

TEST(LoadOptions, BadValuesAreClearErrors) {
  const std::string m = "run -m " + model_path("r1-mini-q8_0") + " --prompt-ids 0 -n 1 ";
  EXPECT_EQ(run_moeinfer(m + "--hugepages 3g 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer(m + "--numa bogus 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer(m + "--numa-node 7 2>/dev/null").exit_code, 1);  // no such node here
  EXPECT_EQ(run_moeinfer(m + "--numa experts --numa-node 0 2>/dev/null").exit_code, 1);
}

}  // namespace
}  // namespace moe::testing
