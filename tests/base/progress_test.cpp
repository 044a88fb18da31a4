// The progress bar: its text is a pure function of (bytes, elapsed); nothing is drawn
// when the stream is not a terminal; the callback sees the final state.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "base/progress.h"

namespace moe {
namespace {

TEST(FormatProgress, BytesRateAndEta) {
  const std::string s = format_progress("loading", 4'000'000'000ull, 12'000'000'000ull, 2.0, 20);
  EXPECT_EQ(s, "loading [######..............]  33%  4.00/12.00 GB  2.00 GB/s  ETA 4.0s");
}

TEST(FormatProgress, DoneShowsTotalTime) {
  const std::string s = format_progress("loading", 10'000'000'000ull, 10'000'000'000ull, 4.0, 10);
  EXPECT_EQ(s, "loading [##########] 100%  10.00/10.00 GB  2.50 GB/s  in 4.0s");
}

TEST(FormatProgress, StartAndLongEtas) {
  EXPECT_EQ(format_progress("x", 0, 100, 0.0, 4), "x [....]   0%  0.00/0.00 GB");
  // 1 GB of 700 GB at 1 GB/s: 699 s left.
  const std::string s = format_progress("x", 1'000'000'000ull, 700'000'000'000ull, 1.0, 4);
  EXPECT_NE(s.find("ETA 11m39s"), std::string::npos) << s;
  const std::string h = format_progress("x", 1'000'000'000ull, 7'000'000'000'000ull, 1.0, 4);
  EXPECT_NE(h.find("ETA 1h56m"), std::string::npos) << h;
  // More than the total (a file that grew) is clamped.
  EXPECT_NE(format_progress("x", 200, 100, 1.0, 4).find("100%"), std::string::npos);
}

TEST(ProgressBar, NoOutputWhenNotATerminal) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::atomic<uint64_t> last_done{0}, last_total{0};
  {
    ProgressBar bar("loading", 1000, [&](uint64_t d, uint64_t t) {
      last_done = d;
      last_total = t;
    }, true, fds[1]);
    EXPECT_FALSE(bar.drawing());
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int k = 0; k < 25; ++k) bar.add(10);
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(bar.done(), 1000u);
  }  // the destructor finishes: one last callback
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buf[64];
  EXPECT_LE(read(fds[0], buf, sizeof buf), 0);
  close(fds[0]);
  EXPECT_EQ(last_done.load(), 1000u);
  EXPECT_EQ(last_total.load(), 1000u);
}

}  // namespace
}  // namespace moe
