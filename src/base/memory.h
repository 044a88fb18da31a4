// Anonymous memory for model weights: normal pages, transparent huge pages (madvise) or
// hugetlb pages (MAP_HUGETLB with 2 MiB or 1 GiB pages), with a clean fallback chain
// 1g -> 2m -> thp -> off that reports exactly what was obtained. Also mlock and the
// /proc/meminfo huge page counters. Linux only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/format.h"
#include "base/status.h"

namespace moe {

// What the user asks for (--hugepages) and what an allocation actually got.
enum class PagePolicy { kOff, kThp, k2M, k1G };
Result<PagePolicy> parse_page_policy(std::string_view text);  // "off", "thp", "2m", "1g"
std::string_view page_policy_name(PagePolicy policy);
size_t page_policy_bytes(PagePolicy policy);  // the page size: 4 KiB (off), 2 MiB (thp, 2m), 1 GiB
// Whether madvise(MADV_HUGEPAGE) can give transparent huge pages (THP not "never").
bool transparent_huge_pages_available();

// The machine's physical memory in bytes (0 if the system does not say).
uint64_t physical_memory_bytes();

// A private anonymous read-write mapping. Move-only; unmaps on destruction.
class MemoryRegion {
 public:
  MemoryRegion() = default;
  MemoryRegion(const MemoryRegion&) = delete;
  MemoryRegion& operator=(const MemoryRegion&) = delete;
  MemoryRegion(MemoryRegion&& other) noexcept;
  MemoryRegion& operator=(MemoryRegion&& other) noexcept;
  ~MemoryRegion();

  // Allocates `bytes` (> 0) with the best policy at or below `want`; the next one down
  // is tried when the kernel refuses (no reserved pages, THP disabled). Fails only when
  // even normal pages cannot be mapped.
  static Result<MemoryRegion> allocate(size_t bytes, PagePolicy want);
  // A private writable mapping of the first `bytes` of file `fd` (4 KiB pages): reads see
  // the file until a page is written, which then becomes this process's own copy. After
  // populate_writable() over all of it, it is anonymous memory holding the file's bytes,
  // copied from the page cache with no zero-fill (see docs/LOADING.md).
  static Result<MemoryRegion> map_file_copy(int fd, size_t bytes);

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }          // as requested
  size_t mapped_size() const { return mapped_; }  // rounded up to the page size
  PagePolicy policy() const { return policy_; }   // what the mapping was made with
  // Bytes of this region backed by huge pages right now (hugetlb: all of it; THP: from
  // /proc/self/smaps AnonHugePages, so call it after the memory is filled).
  size_t huge_bytes() const;
  // "12.3 GB on 2 MiB hugetlb pages", "12.3 GB: 11.9 GB on THP, the rest on 4 KiB pages".
  std::string describe() const;

 private:
  void reset();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  PagePolicy policy_ = PagePolicy::kOff;
};

// Gives every page of [p, p + n) (p page aligned, inside a writable mapping) its own
// private copy now: MADV_POPULATE_WRITE (Linux 5.14+), else one write per page. An error
// names errno (ENOMEM: out of memory; EFAULT: the file shrank under the mapping).
Status populate_writable(uint8_t* p, size_t n);

// The fraction of the pages of [p, p + n) (p page aligned, a file mapping) that are in the
// page cache (mincore); 0 when it cannot be told.
double page_cache_fraction(const uint8_t* p, size_t n);

// Locks [p, p + n) in RAM (mlock). The error names errno and, for ENOMEM/EPERM, the
// RLIMIT_MEMLOCK limit and how to raise it; callers log it as a warning and go on.
Status lock_memory(const void* p, size_t n);
std::string mlock_failure_message(int err, size_t bytes, uint64_t rlimit_cur);

// Huge page counters of /proc/meminfo (kB values as the kernel prints them).
struct MeminfoHuge {
  uint64_t hugepages_total = 0;
  uint64_t hugepages_free = 0;
  uint64_t hugepages_rsvd = 0;
  uint64_t hugepagesize_kb = 0;
  uint64_t anon_huge_kb = 0;
  std::string describe() const;
};
MeminfoHuge parse_meminfo_huge(std::string_view text);
MeminfoHuge read_meminfo_huge();  // zeros when /proc/meminfo is unreadable

// Free pages of one hugetlb size (from /sys/kernel/mm/hugepages); 0 when unknown.
uint64_t free_hugetlb_pages(PagePolicy size);


}  // namespace moe
