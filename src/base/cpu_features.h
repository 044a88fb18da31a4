// What the running CPU supports, read once with CPUID (and XGETBV for OS support).
#pragma once

#include <string>

namespace moe {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;

  // What the AVX2 kernel files are compiled for (-mavx2 -mfma -mf16c -mbmi2).
  bool has_avx2_set() const { return avx2 && fma && f16c && bmi2; }
  bool has_avx512_set() const {
    return has_avx2_set() && avx512f && avx512bw && avx512vl && avx512dq && avx512vnni;
  }
  std::string describe() const;
};

CpuFeatures detect_cpu_features();

// Physical cores available to this process (SMT siblings counted once).
int physical_core_count();

}  // namespace moe
