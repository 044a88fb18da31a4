#include "gguf/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "base/affinity.h"
#include "base/log.h"
#include "base/timer.h"
#include "gguf/gguf.h"

namespace moe {
namespace {

constexpr uint64_t kMaxChunk = 64ull << 20;
constexpr uint64_t kMinChunk = 1ull << 20;
constexpr uint64_t kMaxCallBytes = 16ull << 20;  // one pread / populate call: progress every 16 MiB
constexpr double kWarmFraction = 0.9;             // ReadMethod::kAuto copies from the page cache from here on

// Runs fn(i) for i in [0, n_threads) on n_threads threads (the caller is thread 0).
template <typename Fn>
void run_threads(int n_threads, Fn&& fn) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(n_threads > 1 ? n_threads - 1 : 0));
  for (int i = 1; i < n_threads; ++i) threads.emplace_back([&fn, i] { fn(i); });
  fn(0);
  for (auto& t : threads) t.join();
}

uint64_t chunk_for(uint64_t size, int n_threads, uint64_t requested) {
  if (requested > 0) return requested;
  const uint64_t even = size / (static_cast<uint64_t>(n_threads) * 4);
  return std::clamp<uint64_t>((even + 4095) / 4096 * 4096, kMinChunk, kMaxChunk);
}

std::vector<int> node_cpus(int node) {
  std::vector<int> cpus;
  auto topo = read_numa_topology();
  if (!topo.is_ok() || topo->node(node) == nullptr) return cpus;
  return topo->node(node)->cpus;
}

// Runs work(offset, end) over [0, size) cut into `chunk`-byte tasks that `n_threads`
// threads take in order (reader threads pinned to `numa_node`'s CPUs when it is >= 0).
// work returns an error message or ""; the first error stops every thread and is returned.
template <typename Work>
Status for_each_chunk(uint64_t size, int n_threads, uint64_t chunk, int numa_node, Work&& work) {
  chunk = std::max<uint64_t>(chunk, 4096);
  const uint64_t n_chunks = (size + chunk - 1) / chunk;
  n_threads = static_cast<int>(std::clamp<uint64_t>(static_cast<uint64_t>(std::max(1, n_threads)), 1,
                                                    std::max<uint64_t>(1, n_chunks)));
  const std::vector<int> cpus = numa_node >= 0 ? node_cpus(numa_node) : std::vector<int>{};
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::string> errors(static_cast<size_t>(n_threads));
  run_threads(n_threads, [&](int ith) {
    if (!cpus.empty() && ith > 0) (void)pin_current_thread(cpus);
    for (;;) {
      const uint64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= n_chunks || failed.load(std::memory_order_relaxed)) return;
      std::string error = work(c * chunk, std::min(size, (c + 1) * chunk));
      if (!error.empty()) {
        errors[static_cast<size_t>(ith)] = std::move(error);
        failed.store(true);
        return;
      }
    }
  });
  for (const std::string& e : errors) {
    if (!e.empty()) return Status::error(e);
  }
  return Status::ok();
}

// Binds `region` to `node` (>= 0) before its first touch, so its pages are born there.
void bind_to_node(const MemoryRegion& region, int node, const std::string& path) {
  if (node < 0) return;
  Status bound = bind_memory_to_node(region.data(), region.mapped_size(), node, page_policy_bytes(region.policy()), false);
  if (!bound.is_ok()) MOE_LOG_WARN("%s: --numa-node: %s; memory follows first touch", path.c_str(), bound.message().c_str());
}

}  // namespace

Result<ReadMethod> parse_read_method(std::string_view text) {
  if (text == "auto") return ReadMethod::kAuto;
  if (text == "pread") return ReadMethod::kPread;
  if (text == "cow") return ReadMethod::kCopyOnWrite;
  return Status::error("--read-method: expected auto, pread or cow, found '" + std::string(text) + "'");
}

std::string_view read_method_name(ReadMethod method) {
  switch (method) {
    case ReadMethod::kAuto: return "auto";
    case ReadMethod::kPread: return "pread";
    case ReadMethod::kCopyOnWrite: return "cow";
  }
  return "?";
}

ReadMethod choose_read_method(ReadMethod asked, PagePolicy pages, double cached_fraction) {
  if (pages != PagePolicy::kOff) return ReadMethod::kPread;  // a file mapping has no huge pages
  if (asked != ReadMethod::kAuto) return asked;
  return cached_fraction >= kWarmFraction ? ReadMethod::kCopyOnWrite : ReadMethod::kPread;
}

int default_io_threads() {
  // Page-cache reads are memcpy bound (one per core); disks want several requests in
  // flight: at least 4, at most 32.
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::clamp(hw, 4, 32);
}

std::string LoadReport::describe() const {
  char buf[200];
  std::string s;
  if (!in_memory) {
    s = "mmap (page cache), " + format_bytes(bytes);
  } else {
    const char* how = parts_read == 0 ? "copy-on-write from the page cache" : parts_copied == 0 ? "pread" : "pread and copy-on-write";
    std::snprintf(buf, sizeof buf, "read into memory (%s), %s in %.2fs (%.2f GB/s)", how, format_bytes(bytes).c_str(),
                  read_seconds, read_gbps());
    s = buf;
    if (requested != PagePolicy::kOff) {
      s += "; pages: asked " + std::string(page_policy_name(requested)) + ", got " +
           std::string(page_policy_name(obtained)) + ", " + format_bytes(huge_bytes) + " on huge pages";
    }
  }
  if (warmup_seconds > 0) {
    std::snprintf(buf, sizeof buf, "; warmed up in %.2fs", warmup_seconds);
    s += buf;
  }
  if (locked) s += "; locked in RAM";
  return s;
}

Result<FileBuffer> FileBuffer::map(const std::string& path) {
  FileBuffer b;
  b.path_ = path;
  MOE_ASSIGN_OR_RETURN(b.map_, MappedFile::open(path));
  return b;
}

Result<FileBuffer> FileBuffer::read(const std::string& path, const LoadOptions& options, ProgressBar* bar) {
  FileBuffer b;
  b.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(path + ": not a readable regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return Status::error(path + ": empty file");
  }
  const int n_threads = options.io_threads > 0 ? options.io_threads : default_io_threads();
  const uint64_t chunk = chunk_for(size, n_threads, options.chunk_bytes);
  Status filled = Status::ok();
  if (choose_read_method(options.read_method, options.hugepages, 1.0) == ReadMethod::kCopyOnWrite) {
    // From the page cache, copying each page on write skips the zero-fill that fresh
    // anonymous pages cost before pread copies into them (docs/LOADING.md).
    auto copy = MemoryRegion::map_file_copy(fd, size);
    if (copy.is_ok() && choose_read_method(options.read_method, options.hugepages,
                                           page_cache_fraction(copy->data(), size)) == ReadMethod::kCopyOnWrite) {
      b.region_ = std::move(copy).value();
      b.method_ = ReadMethod::kCopyOnWrite;
      bind_to_node(b.region_, options.numa_node, path);
      filled = populate_parallel(path, b.region_.data(), size, n_threads, chunk, bar, options.numa_node);
    }
  }
  if (b.method_ == ReadMethod::kPread) {
    auto region = MemoryRegion::allocate(size, options.hugepages);
    if (!region.is_ok()) {
      ::close(fd);
      return region.status().with_context(path);
    }
    b.region_ = std::move(region).value();
    bind_to_node(b.region_, options.numa_node, path);
    filled = read_parallel(fd, path, b.region_.data(), size, n_threads, chunk, bar, options.numa_node);
  }
  ::close(fd);
  if (!filled.is_ok()) return filled;
  return b;
}

Status read_parallel(int fd, const std::string& path, uint8_t* dst, uint64_t size, int n_threads, uint64_t chunk,
                     ProgressBar* bar, int numa_node) {
  posix_fadvise(fd, 0, static_cast<off_t>(size), POSIX_FADV_SEQUENTIAL);
  return for_each_chunk(size, n_threads, chunk, numa_node, [&](uint64_t off, uint64_t end) -> std::string {
    while (off < end) {
      const size_t want = static_cast<size_t>(std::min(kMaxCallBytes, end - off));
      const ssize_t got = pread(fd, dst + off, want, static_cast<off_t>(off));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        return path + ": read at offset " + std::to_string(off) + " failed: " +
               (got == 0 ? std::string("unexpected end of file") : std::strerror(errno));
      }
      off += static_cast<uint64_t>(got);
      if (bar != nullptr) bar->add(static_cast<uint64_t>(got));
    }
    return {};
  });
}

Status populate_parallel(const std::string& path, uint8_t* dst, uint64_t size, int n_threads, uint64_t chunk,
                         ProgressBar* bar, int numa_node) {
  chunk = (std::max<uint64_t>(chunk, 4096) + 4095) / 4096 * 4096;  // tasks start on page boundaries
  return for_each_chunk(size, n_threads, chunk, numa_node, [&](uint64_t off, uint64_t end) -> std::string {
    for (; off < end; off += kMaxCallBytes) {
      const uint64_t n = std::min(kMaxCallBytes, end - off);
      Status s = populate_writable(dst + off, static_cast<size_t>(n));
      if (!s.is_ok()) return path + ": copying at offset " + std::to_string(off) + ": " + s.message();
      if (bar != nullptr) bar->add(n);
    }
    return {};
  });
}

void touch_pages(const uint8_t* p, uint64_t n, int n_threads, ProgressBar* bar) {
  constexpr uint64_t kPage = 4096;
  constexpr uint64_t kChunk = 16ull << 20;
  const uint64_t n_chunks = (n + kChunk - 1) / kChunk;
  n_threads = static_cast<int>(std::clamp<uint64_t>(static_cast<uint64_t>(std::max(1, n_threads)), 1, std::max<uint64_t>(1, n_chunks)));
  std::atomic<uint64_t> next{0};
  run_threads(n_threads, [&](int) {
    uint8_t sink = 0;
    for (;;) {
      const uint64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= n_chunks) break;
      const uint64_t begin = c * kChunk;
      const uint64_t end = std::min(n, begin + kChunk);
      for (uint64_t off = begin; off < end; off += kPage) sink ^= *static_cast<const volatile uint8_t*>(p + off);
      if (bar != nullptr) bar->add(end - begin);
    }
    asm volatile("" : : "r"(sink));
  });
}

Result<LoadReport> load_parts(std::vector<std::unique_ptr<FileBuffer>>& parts, const LoadOptions& options,
                              std::vector<bool>* reloaded) {
  LoadReport report;
  report.requested = options.hugepages;
  report.obtained = options.hugepages;
  reloaded->assign(parts.size(), false);
  for (const auto& part : parts) report.bytes += part->size();
  auto warn = [&](std::string msg) {
    MOE_LOG_WARN("%s", msg.c_str());
    report.warnings.push_back(std::move(msg));
  };
  const int n_threads = options.io_threads > 0 ? options.io_threads : default_io_threads();
  if (options.numa_node >= 0) {
    // This thread's later allocations (and those of threads it starts: readers, warm-up,
    // the pool) come from the node; a cold page cache also fills there.
    Status bound = bind_thread_memory_to_node(options.numa_node);
    if (!bound.is_ok()) warn("--numa-node: " + bound.message() + "; memory is not bound");
  }

  if (options.reads_into_memory()) {
    report.in_memory = true;
    if (options.hugepages == PagePolicy::k1G || options.hugepages == PagePolicy::k2M) {
      MOE_LOG_INFO("huge pages before loading: %s; free 1 GiB pages %llu, free 2 MiB pages %llu",
                   read_meminfo_huge().describe().c_str(),
                   static_cast<unsigned long long>(free_hugetlb_pages(PagePolicy::k1G)),
                   static_cast<unsigned long long>(free_hugetlb_pages(PagePolicy::k2M)));
    }
    ProgressBar bar("loading", report.bytes, options.progress, options.show_progress);
    Timer timer;
    for (size_t i = 0; i < parts.size(); ++i) {
      MOE_ASSIGN_OR_RETURN(FileBuffer buf, FileBuffer::read(parts[i]->path(), options, &bar));
      if (buf.size() != parts[i]->size()) {
        return Status::error(parts[i]->path() + ": changed while loading (size " + std::to_string(parts[i]->size()) +
                             " then " + std::to_string(buf.size()) + ")");
      }
      report.obtained = std::min(report.obtained, buf.region().policy());
      report.huge_bytes += buf.region().huge_bytes();
      (buf.method() == ReadMethod::kCopyOnWrite ? report.parts_copied : report.parts_read) += 1;
      *parts[i] = std::move(buf);
      (*reloaded)[i] = true;
    }
    report.read_seconds = timer.seconds();
    bar.finish();
    if (report.obtained != report.requested) {
      warn("--hugepages: asked for " + std::string(page_policy_name(report.requested)) + ", got " +
           std::string(page_policy_name(report.obtained)) + " (" + read_meminfo_huge().describe() +
           "); reserve pages with e.g. `hugepages=N hugepagesz=1G` on the kernel command line or "
           "/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages");
    }
  } else if (options.numa_node >= 0) {
    if (!options.warmup) {
      warn("--numa-node with mmap: pages already in the page cache stay where they are; "
           "use --no-mmap (or --warmup on a cold cache) to place the weights on the node");
    }
  }

  if (options.warmup) {
    ProgressBar bar("warming up", report.bytes, report.in_memory ? ProgressFn{} : options.progress,
                    options.show_progress);
    Timer timer;
    for (const auto& part : parts) touch_pages(part->data(), part->size(), n_threads, &bar);
    report.warmup_seconds = timer.seconds();
    bar.finish();
    if (report.in_memory && report.requested == PagePolicy::kThp) {
      report.huge_bytes = 0;  // THP may have collapsed more pages by now
      for (const auto& part : parts) report.huge_bytes += part->region().huge_bytes();
    }
  }

  if (options.mlock) {
    report.locked = true;
    for (const auto& part : parts) {
      Status locked = lock_memory(part->data(), part->size());
      if (!locked.is_ok()) {
        warn("--mlock: " + part->path() + ": " + locked.message());
        report.locked = false;
      }
    }
  }
  return report;
}

std::vector<ExpertRef> expert_refs(const GgufModel& model) {
  std::map<std::pair<int, int>, uint64_t> bytes;  // (layer, expert) -> bytes of its slices
  for (const TensorInfo& t : model.tensors()) {
    int layer = -1;
    char kind[16] = {0};
    if (std::sscanf(t.name.c_str(), "blk.%d.ffn_%15[a-z]_exps.weight", &layer, kind) != 2 || layer < 0) continue;
    const int64_t n_experts = t.ne[2];
    if (t.n_dims != 3 || n_experts < 1) continue;
    const uint64_t slice = t.n_bytes / static_cast<uint64_t>(n_experts);
    for (int64_t e = 0; e < n_experts; ++e) bytes[{layer, static_cast<int>(e)}] += slice;
  }
  std::vector<ExpertRef> out;
  out.reserve(bytes.size());
  for (const auto& [key, b] : bytes) out.push_back({key.first, key.second, b});
  return out;
}

Result<ExpertPlacement> place_model_experts(const GgufModel& model, const NumaTopology& topo, bool move_memory,
                                            LoadReport* report) {
  const std::vector<ExpertRef> experts = expert_refs(model);
  MOE_ASSIGN_OR_RETURN(ExpertPlacement placement, place_experts(topo, experts));
  if (!move_memory || topo.nodes.size() < 2) return placement;
  if (!report->in_memory) {
    report->warnings.push_back("--numa experts: the weights are mmapped page cache; use --no-mmap to move experts");
    MOE_LOG_WARN("%s", report->warnings.back().c_str());
    return placement;
  }
  // Each expert tensor holds its experts back to back: slice e at data + e * slice bytes.
  int failures = 0;
  std::string first_error;
  for (const TensorInfo& t : model.tensors()) {
    int layer = -1;
    char kind[16] = {0};
    if (std::sscanf(t.name.c_str(), "blk.%d.ffn_%15[a-z]_exps.weight", &layer, kind) != 2 || t.n_dims != 3) continue;
    const uint64_t slice = t.n_bytes / static_cast<uint64_t>(t.ne[2]);
    for (int64_t e = 0; e < t.ne[2]; ++e) {
      auto it = std::lower_bound(experts.begin(), experts.end(), std::pair<int, int64_t>{layer, e},
                                 [](const ExpertRef& r, const std::pair<int, int64_t>& k) {
                                   return r.layer != k.first ? r.layer < k.first : r.expert < k.second;
                                 });
      const int node = placement.node_of[static_cast<size_t>(it - experts.begin())];
      Status s = bind_memory_to_node(const_cast<uint8_t*>(t.data) + e * slice, slice, node, 4096, true);
      if (!s.is_ok() && failures++ == 0) first_error = s.message();
    }
  }
  if (failures > 0) {
    report->warnings.push_back("--numa experts: " + std::to_string(failures) + " expert slices not moved: " + first_error);
    MOE_LOG_WARN("%s", report->warnings.back().c_str());
  }
  return placement;
}

}  // namespace moe
