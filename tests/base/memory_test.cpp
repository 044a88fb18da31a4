// Anonymous / huge page memory: the fallback chain reports what it got; mlock failures
// come back as messages with the RLIMIT_MEMLOCK hint; /proc/meminfo parsing; vectors on
// cache lines.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "base/cache_aligned.h"
#include "base/memory.h"

namespace moe {
namespace {

TEST(CacheAlignedVector, StartsOnACacheLineAtEverySize) {
  auto on_line = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % kCacheLineBytes == 0; };
  for (size_t n : {1, 3, 17, 4096, 1 << 20}) {
    CacheAlignedVector<float> f(n);
    CacheAlignedVector<uint8_t> b(n);
    EXPECT_TRUE(on_line(f.data())) << n;
    EXPECT_TRUE(on_line(b.data())) << n;
    f.resize(3 * n + 5);  // a reallocation keeps it
    EXPECT_TRUE(on_line(f.data())) << n;
  }
}

TEST(PagePolicy, ParsesEveryName) {
  EXPECT_EQ(*parse_page_policy("1g"), PagePolicy::k1G);
  EXPECT_EQ(*parse_page_policy("2m"), PagePolicy::k2M);
  EXPECT_EQ(*parse_page_policy("thp"), PagePolicy::kThp);
  EXPECT_EQ(*parse_page_policy("off"), PagePolicy::kOff);
  auto bad = parse_page_policy("3g");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("'3g'"), std::string::npos);
}

TEST(MemoryRegion, OneGigPagesFallBackAndReportWhatWasObtained) {
  const size_t bytes = (8u << 20) + 123;  // not a multiple of any page size
  auto r = MemoryRegion::allocate(bytes, PagePolicy::k1G);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->size(), bytes);
  EXPECT_GE(r->mapped_size(), bytes);
  EXPECT_EQ(r->mapped_size() % page_policy_bytes(r->policy()), 0u);
  if (free_hugetlb_pages(PagePolicy::k1G) == 0) {
    EXPECT_NE(r->policy(), PagePolicy::k1G) << "no free 1 GiB page, yet 1g was reported";
  }
  // Writable everywhere; the description names the page size obtained.
  std::memset(r->data(), 0xab, bytes);
  EXPECT_EQ(r->data()[bytes - 1], 0xab);
  const std::string d = r->describe();
  EXPECT_NE(d.find(std::string(page_policy_name(r->policy())).substr(0, 5)), std::string::npos) << d;
  EXPECT_LE(r->huge_bytes(), bytes);
}

TEST(MemoryRegion, ThpRegionIsTwoMegAligned) {
  auto r = MemoryRegion::allocate(6u << 20, PagePolicy::kThp);
  ASSERT_TRUE(r.is_ok());
  if (r->policy() == PagePolicy::kThp) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r->data()) % (2u << 20), 0u);
    std::memset(r->data(), 1, r->size());
    EXPECT_LE(r->huge_bytes(), r->size());
  } else {
    EXPECT_EQ(r->policy(), PagePolicy::kOff);  // THP disabled ("never")
  }
}

TEST(MemoryRegion, MoveLeavesTheSourceEmpty) {
  auto r = MemoryRegion::allocate(4096, PagePolicy::kOff);
  ASSERT_TRUE(r.is_ok());
  MemoryRegion a = std::move(r).value();
  uint8_t* p = a.data();
  MemoryRegion b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_FALSE(MemoryRegion::allocate(0, PagePolicy::kOff).is_ok());
}

TEST(Mlock, FailureIsAMessageWithTheLimitHint) {
  const std::string m = mlock_failure_message(EPERM, 2'000'000'000, 8u << 20);
  EXPECT_NE(m.find("2.00 GB"), std::string::npos) << m;
  EXPECT_NE(m.find("8.4 MB"), std::string::npos) << m;
  EXPECT_NE(m.find(std::strerror(EPERM)), std::string::npos) << m;
}

TEST(Mlock, FailureOfTheRealCallIsReported) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer turns mlock into a no-op that succeeds";
#endif
  // A range below vm.mmap_min_addr is never mapped: mlock fails (ENOMEM) whatever the
  // limit or the capabilities are.
  Status s = lock_memory(reinterpret_cast<const void*>(uintptr_t{4096}), 4096);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("RLIMIT_MEMLOCK"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ulimit -l"), std::string::npos);
}

TEST(Mlock, SmallLockSucceedsOrExplains) {
  auto r = MemoryRegion::allocate(1 << 16, PagePolicy::kOff);
  ASSERT_TRUE(r.is_ok());
  Status s = lock_memory(r->data(), r->size());
  if (!s.is_ok()) {
    EXPECT_NE(s.message().find("RLIMIT_MEMLOCK"), std::string::npos);
  }
}

TEST(Meminfo, ParsesHugePageCounters) {
  const char* text =
      "MemTotal:       24000000 kB\n"
      "AnonHugePages:    409600 kB\n"
      "HugePages_Total:     671\n"
      "HugePages_Free:      600\n"
      "HugePages_Rsvd:       10\n"
      "HugePages_Surp:        0\n"
      "Hugepagesize:    1048576 kB\n";
  const MeminfoHuge m = parse_meminfo_huge(text);
  EXPECT_EQ(m.hugepages_total, 671u);
  EXPECT_EQ(m.hugepages_free, 600u);
  EXPECT_EQ(m.hugepages_rsvd, 10u);
  EXPECT_EQ(m.hugepagesize_kb, 1048576u);
  EXPECT_EQ(m.anon_huge_kb, 409600u);
  EXPECT_NE(m.describe().find("HugePages_Total 671"), std::string::npos);
  EXPECT_EQ(parse_meminfo_huge("").hugepages_total, 0u);
}

TEST(FormatBytes, DecimalUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1500), "1.5 kB");
  EXPECT_EQ(format_bytes(12'260'448), "12.3 MB");
  EXPECT_EQ(format_bytes(404'000'000'000ull), "404.00 GB");
}

}  // namespace
}  // namespace moe
