#include "base/memory.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

namespace moe {
namespace {

constexpr size_t kSmallPage = 4096;
constexpr size_t k2MiB = size_t{2} << 20;
constexpr size_t k1GiB = size_t{1} << 30;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

PagePolicy next_lower(PagePolicy p) {
  switch (p) {
    case PagePolicy::k1G: return PagePolicy::k2M;
    case PagePolicy::k2M: return PagePolicy::kThp;
    default: return PagePolicy::kOff;
  }
}

// Maps `bytes` anonymous memory for `policy`; nullptr (with errno kept) on failure.
void* map_anonymous(size_t bytes, PagePolicy policy, size_t* mapped) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (policy == PagePolicy::k1G) flags |= MAP_HUGETLB | MAP_HUGE_1GB;
  if (policy == PagePolicy::k2M) flags |= MAP_HUGETLB | MAP_HUGE_2MB;
  if (policy != PagePolicy::kThp) {
    *mapped = round_up(bytes, page_policy_bytes(policy));
    void* p = mmap(nullptr, *mapped, PROT_READ | PROT_WRITE, flags, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  // THP: a 2 MiB aligned range (over-map, trim both ends), then ask for huge pages.
  *mapped = round_up(bytes, k2MiB);
  const size_t over = *mapped + k2MiB;
  void* raw = mmap(nullptr, over, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, k2MiB);
  if (aligned > start) munmap(raw, aligned - start);
  const size_t tail = (start + over) - (aligned + *mapped);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + *mapped), tail);
  void* p = reinterpret_cast<void*>(aligned);
  if (madvise(p, *mapped, MADV_HUGEPAGE) != 0) {
    const int err = errno;
    munmap(p, *mapped);
    errno = err;
    return nullptr;
  }
  return p;
}

uint64_t parse_kb_field(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      return std::strtoull(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
    }
    pos = end + 1;
  }
  return 0;
}

// AnonHugePages (bytes) of the /proc/self/smaps mapping that contains `addr`.
size_t smaps_anon_huge_bytes(const void* addr) {
  std::ifstream f("/proc/self/smaps");
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return static_cast<size_t>(std::strtoull(line.c_str() + 14, nullptr, 10)) * 1024;
    }
  }
  return 0;
}

}  // namespace

bool transparent_huge_pages_available() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  if (!std::getline(f, s)) return false;
  return s.find("[never]") == std::string::npos;
}

Result<PagePolicy> parse_page_policy(std::string_view text) {
  if (text == "off" || text == "none" || text == "4k") return PagePolicy::kOff;
  if (text == "thp") return PagePolicy::kThp;
  if (text == "2m" || text == "2M") return PagePolicy::k2M;
  if (text == "1g" || text == "1G") return PagePolicy::k1G;
  return Status::error("--hugepages: expected 1g, 2m, thp or off, found '" + std::string(text) + "'");
}

std::string_view page_policy_name(PagePolicy policy) {
  switch (policy) {
    case PagePolicy::kOff: return "4 KiB pages";
    case PagePolicy::kThp: return "transparent huge pages";
    case PagePolicy::k2M: return "2 MiB hugetlb pages";
    case PagePolicy::k1G: return "1 GiB hugetlb pages";
  }
  return "?";
}

size_t page_policy_bytes(PagePolicy policy) {
  switch (policy) {
    case PagePolicy::kOff: return kSmallPage;
    case PagePolicy::kThp:
    case PagePolicy::k2M: return k2MiB;
    case PagePolicy::k1G: return k1GiB;
  }
  return kSmallPage;
}

MemoryRegion::MemoryRegion(MemoryRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      policy_(other.policy_) {}

MemoryRegion& MemoryRegion::operator=(MemoryRegion&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    policy_ = other.policy_;
  }
  return *this;
}

MemoryRegion::~MemoryRegion() { reset(); }

void MemoryRegion::reset() {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

Result<MemoryRegion> MemoryRegion::allocate(size_t bytes, PagePolicy want) {
  if (bytes == 0) return Status::error("allocate: 0 bytes requested");
  for (PagePolicy p = want;; p = next_lower(p)) {
    if (p == PagePolicy::kThp && !transparent_huge_pages_available()) continue;  // "never": plain pages it is
    size_t mapped = 0;
    void* data = map_anonymous(bytes, p, &mapped);
    if (data != nullptr) {
      MemoryRegion r;
      r.data_ = static_cast<uint8_t*>(data);
      r.size_ = bytes;
      r.mapped_ = mapped;
      r.policy_ = p;
      return r;
    }
    if (p == PagePolicy::kOff) {
      return Status::error("cannot map " + format_bytes(bytes) + " of anonymous memory: " + std::strerror(errno));
    }
  }
}

Result<MemoryRegion> MemoryRegion::map_file_copy(int fd, size_t bytes) {
  if (bytes == 0) return Status::error("map_file_copy: 0 bytes requested");
  const size_t mapped = round_up(bytes, kSmallPage);
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return Status::error("cannot map " + format_bytes(bytes) + " copy-on-write: " + std::strerror(errno));
  MemoryRegion r;
  r.data_ = static_cast<uint8_t*>(p);
  r.size_ = bytes;
  r.mapped_ = mapped;
  r.policy_ = PagePolicy::kOff;
  return r;
}

Status populate_writable(uint8_t* p, size_t n) {
  if (n == 0) return Status::ok();
  if (madvise(p, n, MADV_POPULATE_WRITE) == 0) return Status::ok();
  const int err = errno;
  if (err != EINVAL) return Status::error(std::string("populating memory failed: ") + std::strerror(err));
  // A kernel before 5.14: fault each page in by writing its first byte back.
  for (size_t off = 0; off < n; off += kSmallPage) {
    volatile uint8_t* q = p + off;
    *q = *q;
  }
  return Status::ok();
}

double page_cache_fraction(const uint8_t* p, size_t n) {
  constexpr size_t kPagesPerCall = 16384;  // 64 MiB of address space per mincore call
  std::vector<unsigned char> vec(kPagesPerCall);
  const size_t pages = (n + kSmallPage - 1) / kSmallPage;
  size_t resident = 0;
  for (size_t first = 0; first < pages; first += kPagesPerCall) {
    const size_t count = std::min(kPagesPerCall, pages - first);
    if (mincore(const_cast<uint8_t*>(p) + first * kSmallPage, count * kSmallPage, vec.data()) != 0) return 0;
    for (size_t i = 0; i < count; ++i) resident += vec[i] & 1;
  }
  return pages == 0 ? 0 : static_cast<double>(resident) / static_cast<double>(pages);
}

size_t MemoryRegion::huge_bytes() const {
  if (data_ == nullptr) return 0;
  if (policy_ == PagePolicy::k1G || policy_ == PagePolicy::k2M) return size_;
  if (policy_ == PagePolicy::kOff) return 0;
  const size_t huge = smaps_anon_huge_bytes(data_);
  return huge < size_ ? huge : size_;
}

std::string MemoryRegion::describe() const {
  if (policy_ == PagePolicy::kThp) {
    const size_t huge = huge_bytes();
    return format_bytes(size_) + ": " + format_bytes(huge) + " on transparent huge pages (2 MiB), " +
           format_bytes(size_ - huge) + " on 4 KiB pages";
  }
  return format_bytes(size_) + " on " + std::string(page_policy_name(policy_));
}

std::string mlock_failure_message(int err, size_t bytes, uint64_t rlimit_cur) {
  std::string msg = "mlock of " + format_bytes(bytes) + " failed: " + std::strerror(err);
  if (err == ENOMEM || err == EPERM || err == EAGAIN) {
    msg += " (RLIMIT_MEMLOCK is ";
    msg += rlimit_cur == RLIM_INFINITY ? std::string("unlimited") : format_bytes(rlimit_cur);
    msg += "; raise it with `ulimit -l unlimited`, LimitMEMLOCK=infinity in a systemd unit, "
           "`--ulimit memlock=-1` in docker, or run with CAP_IPC_LOCK)";
  }
  return msg + "; the weights stay unlocked and may be paged out";
}

Status lock_memory(const void* p, size_t n) {
  if (n == 0) return Status::ok();
  if (mlock(p, n) == 0) return Status::ok();
  const int err = errno;
  struct rlimit rl {};
  getrlimit(RLIMIT_MEMLOCK, &rl);
  return Status::error(mlock_failure_message(err, n, rl.rlim_cur));
}

MeminfoHuge parse_meminfo_huge(std::string_view text) {
  MeminfoHuge m;
  m.hugepages_total = parse_kb_field(text, "HugePages_Total");
  m.hugepages_free = parse_kb_field(text, "HugePages_Free");
  m.hugepages_rsvd = parse_kb_field(text, "HugePages_Rsvd");
  m.hugepagesize_kb = parse_kb_field(text, "Hugepagesize");
  m.anon_huge_kb = parse_kb_field(text, "AnonHugePages");
  return m;
}

MeminfoHuge read_meminfo_huge() {
  std::ifstream f("/proc/meminfo");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_meminfo_huge(ss.str());
}

std::string MeminfoHuge::describe() const {
  char buf[200];
  std::snprintf(buf, sizeof buf, "HugePages_Total %" PRIu64 ", HugePages_Free %" PRIu64 ", HugePages_Rsvd %" PRIu64
                ", Hugepagesize %" PRIu64 " kB, AnonHugePages %" PRIu64 " kB",
                hugepages_total, hugepages_free, hugepages_rsvd, hugepagesize_kb, anon_huge_kb);
  return buf;
}

uint64_t free_hugetlb_pages(PagePolicy size) {
  const char* dir = size == PagePolicy::k1G ? "hugepages-1048576kB" : "hugepages-2048kB";
  std::ifstream f(std::string("/sys/kernel/mm/hugepages/") + dir + "/free_hugepages");
  uint64_t n = 0;
  return (f >> n) ? n : 0;
}

uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

}  // namespace moe
