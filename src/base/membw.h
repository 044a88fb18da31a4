// Sustained memory read bandwidth: the denominator of every "% of bandwidth" the benchmarks
// report (PERF.md, "How to measure honestly").
//
// The probe allocates one buffer (>= 4 GiB by default, far beyond any cache), writes it once
// from the threads that will read it (first touch places pages near them), then runs
// `passes` read-only passes: each thread sums its contiguous slice with 256-bit loads (AVX2,
// chosen at run time; a portable 64-bit loop elsewhere), four independent accumulators. The
// result is the best pass: bytes / seconds, GB = 1e9 bytes.
//
// The buffer is on transparent huge pages by default, as the loaded weights are (the packed
// layouts always, --no-mmap by default): on 4 KiB pages the probe also pays a page walk per
// 4 KiB, which under a hypervisor's nested paging lowers its figure below what the kernels
// read, and the percentages would flatter them.
#pragma once

#include <cstdint>
#include <string>

#include "base/memory.h"
#include "base/status.h"
#include "base/thread_pool.h"

namespace moe {

struct MembwOptions {
  uint64_t bytes = 4ull << 30;  // buffer size (rounded down to a multiple of 4 KiB per thread)
  int threads = 0;              // readers (0: all of the pool)
  int passes = 5;               // the best one is reported
  PagePolicy pages = PagePolicy::kThp;  // the buffer's pages (falls back as MemoryRegion does)
};

struct MembwResult {
  double best_gbps = 0.0;   // GB/s of the fastest pass
  double mean_gbps = 0.0;   // over all passes
  uint64_t bytes = 0;       // bytes read per pass
  int threads = 0;
  int passes = 0;
  bool avx2 = false;        // whether the AVX2 loop was used
  uint64_t huge_bytes = 0;  // of the buffer on huge pages (after the first touch)
  std::string pages;        // what the buffer got (MemoryRegion::describe)
  double checksum = 0.0;    // the sum read (kept so the loads cannot be optimized away)
};

// Errors: a buffer that cannot be allocated, zero passes.
Result<MembwResult> measure_read_bandwidth(ThreadPool& pool, const MembwOptions& options);

// Parses sizes such as "4G", "512M", "64k" or "1048576" (binary multiples); errors name the text.
Result<uint64_t> parse_byte_size(const char* text);

}  // namespace moe
