// How a GGUF model's bytes get into memory (the loading policy of GgufModel::open):
//   default      read-only mmap of every part: the page cache holds the weights, so a
//                restart is instant and several processes share one copy;
//   --no-mmap    private memory holding a copy of the file: from a warm page cache a
//                private file mapping whose pages are all copied at once (no zero-fill),
//                else anonymous memory filled by parallel pread (N threads, large chunks);
//   --hugepages  that anonymous memory on 1 GiB / 2 MiB hugetlb pages or THP (implies
//                --no-mmap), falling back 1g -> 2m -> thp -> off, reporting what it got;
//   --mlock      mlock every part (a failure is a warning);
//   --warmup     touch every page once (parallel) so the first token pays no page faults;
//   --numa-node  weight memory bound to one node (mbind) and read by that node's CPUs;
//   --numa experts  each routed expert's slices placed on one node (see base/numa.h).
// Progress (bytes, GB/s, ETA) goes to a stderr bar on a terminal and to a callback.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/memory.h"
#include "base/mmap_file.h"
#include "base/numa.h"
#include "base/progress.h"
#include "base/status.h"

namespace moe {

class GgufModel;

// How --no-mmap fills memory on 4 KiB pages (huge pages are always read with pread).
enum class ReadMethod {
  kAuto,         // copy-on-write when most of the file is in the page cache, else pread
  kPread,        // parallel pread into fresh anonymous memory: best from a disk
  kCopyOnWrite,  // a private mapping of the file, every page copied now: best from the page cache
};
Result<ReadMethod> parse_read_method(std::string_view text);  // "auto", "pread", "cow"
std::string_view read_method_name(ReadMethod method);
// What a load with `asked` does for `pages`, when `cached_fraction` of the file is in the
// page cache (kAuto: copy-on-write from 90 % on).
ReadMethod choose_read_method(ReadMethod asked, PagePolicy pages, double cached_fraction);

struct LoadOptions {
  bool use_mmap = true;                     // false: read into anonymous memory
  bool mlock = false;
  PagePolicy hugepages = PagePolicy::kOff;  // anything else implies use_mmap = false
  ReadMethod read_method = ReadMethod::kAuto;
  bool warmup = false;
  int numa_node = -1;        // >= 0: bind the weights' memory to this node
  bool numa_experts = false; // place routed experts' slices round-robin over the nodes
  int io_threads = 0;        // parallel readers / touchers (0: automatic)
  uint64_t chunk_bytes = 0;  // bytes per read task (0: automatic, up to 64 MiB)
  bool repack = true;        // rewrite weights into the kernels' packed layouts (model/pack_weights.h)
  // Routed-expert conversions that grow the weights (Q5_0 -> Q8_0_R16, IQ1_S -> IQ1_S_R16, ...) are
  // made only if the weights then fit this many bytes (-1: 85 % of the machine's RAM; 0: no limit).
  int64_t conversion_memory_limit = -1;
  bool show_progress = true; // the stderr bar (drawn only when stderr is a terminal)
  ProgressFn progress;       // (bytes done, bytes total) while reading or warming up

  bool reads_into_memory() const { return !use_mmap || hugepages != PagePolicy::kOff; }
};

// What loading did, for the log line and for tests.
struct LoadReport {
  bool in_memory = false;                   // anonymous memory (else mmap)
  PagePolicy requested = PagePolicy::kOff;
  PagePolicy obtained = PagePolicy::kOff;   // the lowest policy any part got
  uint64_t bytes = 0;                       // all parts
  uint64_t huge_bytes = 0;                  // of those, on huge pages (hugetlb or THP)
  double read_seconds = 0;                  // reading into memory (0 with mmap)
  int parts_copied = 0;                     // parts filled copy-on-write from the page cache
  int parts_read = 0;                       // parts filled by pread
  double warmup_seconds = 0;
  bool locked = false;
  std::vector<std::string> warnings;        // also logged
  std::vector<ExpertRef> experts;           // --numa experts: every routed expert
  ExpertPlacement placement;                // ... and its node
  double read_gbps() const { return read_seconds > 0 ? static_cast<double>(bytes) / 1e9 / read_seconds : 0; }
  std::string describe() const;             // one line: mode, pages, GB/s
};

// The bytes of one file: a read-only mapping or anonymous memory filled by reads.
class FileBuffer {
 public:
  static Result<FileBuffer> map(const std::string& path);
  // Reads the file into anonymous memory with `options` (page policy, threads, NUMA node).
  static Result<FileBuffer> read(const std::string& path, const LoadOptions& options, ProgressBar* bar);

  const uint8_t* data() const { return region_.data() != nullptr ? region_.data() : map_.data(); }
  size_t size() const { return region_.data() != nullptr ? region_.size() : map_.size(); }
  const std::string& path() const { return path_; }
  bool in_memory() const { return region_.data() != nullptr; }
  ReadMethod method() const { return method_; }  // how an in-memory buffer was filled
  const MemoryRegion& region() const { return region_; }

 private:
  std::string path_;
  MappedFile map_;
  MemoryRegion region_;
  ReadMethod method_ = ReadMethod::kPread;
};

// Reads [0, size) of `fd` into `dst` with `n_threads` threads taking `chunk`-byte tasks
// in order; progress counted into `bar` (may be null). Errors name the path and offset.
Status read_parallel(int fd, const std::string& path, uint8_t* dst, uint64_t size, int n_threads, uint64_t chunk,
                     ProgressBar* bar, int numa_node = -1);

// Gives every page of the private writable mapping [dst, dst + size) its own copy now
// (populate_writable: a file mapping's pages are copied, anonymous ones zero-filled),
// `n_threads` threads taking `chunk`-byte tasks; progress into `bar` (may be null).
Status populate_parallel(const std::string& path, uint8_t* dst, uint64_t size, int n_threads, uint64_t chunk,
                         ProgressBar* bar, int numa_node = -1);

// Reads one byte of every 4 KiB page of [p, p + n) with `n_threads` threads.
void touch_pages(const uint8_t* p, uint64_t n, int n_threads, ProgressBar* bar);

// The threads loading uses when options.io_threads is 0.
int default_io_threads();

// Applies `options` to freshly mapped parts: replaces them with in-memory copies when
// asked (`reloaded[i]` set for those: their GGUF must be parsed again), binds, locks,
// warms up. Fails only when a read fails; everything else is a warning in the report.
Result<LoadReport> load_parts(std::vector<std::unique_ptr<FileBuffer>>& parts, const LoadOptions& options,
                              std::vector<bool>* reloaded);

// --numa experts: every routed expert of `model` (blk.N.ffn_{gate,up,down}_exps slices).
std::vector<ExpertRef> expert_refs(const GgufModel& model);
// Places them on `topo`'s nodes; moves their pages (mbind) when `move_memory`, the model
// is in anonymous memory and there is more than one node. Warnings go to `report`.
Result<ExpertPlacement> place_model_experts(const GgufModel& model, const NumaTopology& topo, bool move_memory,
                                            LoadReport* report);

}  // namespace moe
