#include "cli/bench_load.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/memory.h"
#include "base/timer.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "gguf/gguf.h"
#include "gguf/load.h"

namespace moe::cli {
namespace {

// Drops the files' clean pages from the page cache, so the next read comes from the disk.
void evict(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// What `cat FILES > /dev/null` gets: one thread, 128 KiB reads into one buffer. GB/s.
Result<double> cat_gbps(const std::vector<std::string>& paths) {
  std::vector<char> buf(128 << 10);
  uint64_t bytes = 0;
  Timer timer;
  for (const std::string& p : paths) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::error(p + ": cannot open");
    ssize_t got = 0;
    while ((got = ::read(fd, buf.data(), buf.size())) > 0) bytes += static_cast<uint64_t>(got);
    ::close(fd);
    if (got < 0) return Status::error(p + ": read failed");
  }
  return static_cast<double>(bytes) / 1e9 / std::max(timer.seconds(), 1e-9);
}

// The first touch of `bytes` of new memory on `pages`, by the loader's threads and tasks:
// the allocation and zero-fill that any load into private memory pays before it copies a
// byte (a VM that hands freed memory back to its host pays the host's faults here too). GB/s.
Result<double> fresh_memory_gbps(uint64_t bytes, PagePolicy pages, int n_threads) {
  MOE_ASSIGN_OR_RETURN(MemoryRegion region, MemoryRegion::allocate(bytes, pages));
  Timer timer;
  MOE_RETURN_IF_ERROR(populate_parallel("fresh memory", region.data(), region.mapped_size(), n_threads,
                                        64ull << 20, nullptr));
  return static_cast<double>(bytes) / 1e9 / std::max(timer.seconds(), 1e-9);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int bench_load(const Args& args) {
  const std::string path = model_path_arg(args);
  if (path.empty()) return fail("bench --load", Status::error("no model given (-m FILE)"));
  auto options = load_options_from_args(args, /*into_memory=*/true);  // what is measured
  if (!options) return fail("bench --load", options.status());
  options->show_progress = false;
  auto reps = args.get_int("--repetitions", 1, 1000);
  if (!reps) return fail("bench --load", reps.status());
  const bool cold = args.flag("--cold");

  std::vector<std::string> paths;
  uint64_t total_bytes = 0;
  {
    auto mapped = GgufModel::open(path);  // validates, and names the parts of a split set
    if (!mapped) return fail("bench --load", mapped.status());
    for (const GgufFile& f : mapped->files()) paths.push_back(f.path);
    total_bytes = mapped->file_bytes();
  }
  const int n_threads = options->io_threads > 0 ? options->io_threads : default_io_threads();
  std::vector<double> cat, load, fresh;
  std::string how;
  for (int r = 0; r < *reps; ++r) {
    auto f = fresh_memory_gbps(total_bytes, options->hugepages, n_threads);
    if (!f) return fail("bench --load", f.status());
    fresh.push_back(*f);
    // Alternate the order, so neither side always finds the other's leftovers.
    for (int step = 0; step < 2; ++step) {
      if (cold) evict(paths);
      if ((step == 0) == (r % 2 == 0)) {
        auto g = cat_gbps(paths);
        if (!g) return fail("bench --load", g.status());
        cat.push_back(*g);
      } else {
        auto m = GgufModel::open(path, {}, *options);
        if (!m) return fail("bench --load", m.status());
        load.push_back(m->load_report().read_gbps());
        how = m->load_report().describe();
      }
    }
    std::fprintf(stderr, "rep %d: fresh memory %.2f GB/s, cat %.2f GB/s, load %.2f GB/s\n", r + 1, fresh.back(), cat.back(),
                 load.back());
  }
  const double ratio = median(load) / median(cat);
  if (args.flag("--json")) {
    nlohmann::json j;
    j["model"] = path;
    j["cold"] = cold;
    j["read_method"] = std::string(read_method_name(options->read_method));
    j["load"] = how;
    j["cat_gbps"] = cat;
    j["load_gbps"] = load;
    j["cat_median_gbps"] = median(cat);
    j["load_median_gbps"] = median(load);
    j["load_pct_cat"] = 100 * ratio;
    j["fresh_memory_gbps"] = fresh;
    j["fresh_memory_median_gbps"] = median(fresh);
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s page cache, %d repetitions: cat %.2f GB/s, load %.2f GB/s (medians) = %.0f %% of cat\n"
                "first touch of as much fresh memory (%s, %d threads, no copy): %.2f GB/s (median)\nlast load: %s\n",
                cold ? "cold" : "warm", static_cast<int>(*reps), median(cat), median(load), 100 * ratio,
                std::string(page_policy_name(options->hugepages)).c_str(), n_threads, median(fresh), how.c_str());
  }
  return 0;
}

}  // namespace moe::cli
