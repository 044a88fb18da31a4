// std::vector storage that starts on a 64-byte boundary (a cache line, one AVX-512 register).
// The heap gives 16-byte alignment, so a buffer of f32 rows whose length is a multiple of
// 16 values (the latent rows of the KV cache and attention) would have every 512-bit load
// split across two cache lines: the f32 attention tile ran at about half its speed on such
// buffers (docs/PERFORMANCE.md, "Scratch buffers on cache lines").
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace moe {

constexpr size_t kCacheLineBytes = 64;

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;

  CacheAlignedAllocator() = default;
  template <class U>
  explicit CacheAlignedAllocator(const CacheAlignedAllocator<U>& /*other*/) noexcept {}

  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLineBytes}));
  }
  void deallocate(T* p, size_t /*n*/) noexcept { ::operator delete(p, std::align_val_t{kCacheLineBytes}); }

  template <class U>
  bool operator==(const CacheAlignedAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

template <class T>
using CacheAlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace moe
