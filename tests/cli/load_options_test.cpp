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
  EXPECT_EQ(run_jsonl("--no-mmap --hugepages off"), base);
}

// The log (stderr) of a short run with `extra` options.
std::string load_log(const std::string& extra) {
  const std::string log = ::testing::TempDir() + "/load_options_log.txt";
  run_jsonl(extra, log);
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool thp_available_here() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  return std::getline(f, s) && s.find("[never]") == std::string::npos;
}

TEST(LoadOptions, LogSaysWhatWasObtained) {
  const std::string log = load_log("--hugepages 1g");
  EXPECT_NE(log.find("read into memory"), std::string::npos) << log;
  EXPECT_NE(log.find("pages: asked 1 GiB hugetlb pages, got"), std::string::npos) << log;
  // Not a terminal: no progress bar.
  EXPECT_EQ(log.find("loading ["), std::string::npos) << log;
}

// --hugepages auto (the default): memory the weights are read into asks for transparent
// huge pages; a mapping of the file asks for nothing; `off` keeps 4 KiB pages.
TEST(LoadOptions, ReadingIntoMemoryAsksForTransparentHugePagesByDefault) {
  const std::string mapped = load_log("");
  EXPECT_NE(mapped.find("mmap (page cache)"), std::string::npos) << mapped;
  EXPECT_EQ(mapped.find("pages: asked"), std::string::npos) << mapped;
  // The packed copies of a mapped file are anonymous memory on THP where it can be had, and
  // the log says how much of them got it.
  EXPECT_NE(mapped.find("into anonymous memory ("), std::string::npos) << mapped;
  EXPECT_NE(mapped.find(thp_available_here() ? "on transparent huge pages" : "on 4 KiB pages"),
            std::string::npos)
      << mapped;

  const std::string read = load_log("--no-mmap");
  EXPECT_NE(read.find("read into memory (pread)"), std::string::npos) << read;
  if (thp_available_here()) {
    EXPECT_NE(read.find("pages: asked transparent huge pages"), std::string::npos) << read;
  } else {
    EXPECT_EQ(read.find("pages: asked"), std::string::npos) << read;
  }
  const std::string plain = load_log("--no-mmap --hugepages off");
  EXPECT_NE(plain.find("read into memory"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("pages: asked"), std::string::npos) << plain;
}

TEST(LoadOptions, BadValuesAreClearErrors) {
  const std::string m = "run -m " + model_path("r1-mini-q8_0") + " --prompt-ids 0 -n 1 ";
  EXPECT_EQ(run_moeinfer(m + "--hugepages 3g 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer(m + "--hugepages AUTO 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer(m + "--numa bogus 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer(m + "--numa-node 7 2>/dev/null").exit_code, 1);  // no such node here
  EXPECT_EQ(run_moeinfer(m + "--numa experts --numa-node 0 2>/dev/null").exit_code, 1);
}

}  // namespace
}  // namespace moe::testing
