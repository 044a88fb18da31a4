#include "base/membw.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/timer.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace moe {
namespace {

constexpr uint64_t kPage = 4096;

// Portable reader: four independent 64-bit sums over 32-byte steps.
uint64_t sum_u64(const uint8_t* p, uint64_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (uint64_t i = 0; i < n / 8; i += 4) {
    a += q[i];
    b += q[i + 1];
    c += q[i + 2];
    d += q[i + 3];
  }
  return a + b + c + d;
}

#if defined(__x86_64__)
// 256-bit loads, 128 bytes per iteration into four accumulators (n is a multiple of 4 KiB).
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, uint64_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (uint64_t i = 0; i < n; i += 128) {
    a = _mm256_add_epi64(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_add_epi64(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_add_epi64(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

}  // namespace

Result<MembwResult> measure_read_bandwidth(ThreadPool& pool, const MembwOptions& options) {
  if (options.passes < 1) return Status::error("membw: passes must be at least 1");
  const int threads = options.threads > 0 ? std::min(options.threads, pool.size()) : pool.size();
  // Each thread reads a whole number of pages.
  const uint64_t per_thread = options.bytes / static_cast<uint64_t>(threads) / kPage * kPage;
  if (per_thread == 0) {
    return Status::error("membw: buffer of " + std::to_string(options.bytes) + " bytes is too small for " +
                         std::to_string(threads) + " threads (at least 4 KiB each)");
  }
  const uint64_t total = per_thread * static_cast<uint64_t>(threads);
  auto buffer = MemoryRegion::allocate(total, options.pages);
  if (!buffer) {
    return Status::error("membw: cannot allocate " + std::to_string(total) +
                         " bytes: " + buffer.status().message());
  }
  uint8_t* base = buffer->data();

#if defined(__x86_64__)
  const bool avx2 = detect_cpu_features().avx2;
#else
  const bool avx2 = false;
#endif
  // First touch by the reading thread: every byte written once (small values: no overflow).
  pool.run(threads, [&](int ith, int) {
    uint8_t* p = base + per_thread * static_cast<uint64_t>(ith);
    for (uint64_t i = 0; i < per_thread; i += kPage) std::memset(p + i, (i / kPage) & 0x7, kPage);
  });

  std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8, 0);  // one cache line per thread
  MembwResult r;
  r.bytes = total;
  r.threads = threads;
  r.passes = options.passes;
  r.avx2 = avx2;
  r.huge_bytes = buffer->huge_bytes();
  r.pages = buffer->describe();
  double sum_gbps = 0.0;
  for (int pass = 0; pass < options.passes; ++pass) {
    Timer timer;
    pool.run(threads, [&](int ith, int) {
      const uint8_t* p = base + per_thread * static_cast<uint64_t>(ith);
#if defined(__x86_64__)
      sums[static_cast<size_t>(ith) * 8] = avx2 ? sum_avx2(p, per_thread) : sum_u64(p, per_thread);
#else
      sums[static_cast<size_t>(ith) * 8] = sum_u64(p, per_thread);
#endif
    });
    const double s = timer.seconds();
    const double gbps = s > 0 ? static_cast<double>(total) / s / 1e9 : 0.0;
    r.best_gbps = std::max(r.best_gbps, gbps);
    sum_gbps += gbps;
    for (int t = 0; t < threads; ++t) r.checksum += static_cast<double>(sums[static_cast<size_t>(t) * 8]);
  }
  r.mean_gbps = sum_gbps / options.passes;
  return r;
}

Result<uint64_t> parse_byte_size(const char* text) {
  const std::string s = text == nullptr ? "" : text;
  if (s.empty()) return Status::error("empty size");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno != 0 || !(v > 0)) return Status::error("invalid size '" + s + "'");
  std::string unit(end);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();  // "GiB"
  double mult = 1.0;
  if (unit.empty()) {
    mult = 1.0;
  } else if (unit == "k" || unit == "K") {
    mult = 1024.0;
  } else if (unit == "m" || unit == "M") {
    mult = 1024.0 * 1024.0;
  } else if (unit == "g" || unit == "G") {
    mult = 1024.0 * 1024.0 * 1024.0;
  } else {
    return Status::error("invalid size '" + s + "' (use a number with an optional K, M or G suffix)");
  }
  const double bytes = v * mult;
  if (bytes > 1e15) return Status::error("size '" + s + "' is too large");
  return static_cast<uint64_t>(bytes);
}

}  // namespace moe
