// The ggml tensor types: id, name, block size (values per block) and bytes per block.
// Every type a published GGUF may carry is listed, so any file's layout can be checked
// even where compute support comes later.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace moe {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,

  // moeinfer-internal layouts: made at load time, never read from or written to a file
  // (find_type_traits does not know them, so a file naming one of these ids is refused).
  Q8_0_R16 = 64,     // Q8_0 rows interleaved in groups of 16 (kernels/packed.h)
  Q4_K_R16 = 65,     // Q4_K rows interleaved in groups of 16
  Q6_K_R16 = 66,     // Q6_K rows interleaved in groups of 16
  Q8_0_S = 67,       // activation blocks for Q8_0_R16: f32 scale, 128 x sum, 32 int8
  Q2_K_R16 = 68,     // Q2_K rows interleaved in groups of 16
  Q3_K_R16 = 69,     // Q3_K rows interleaved in groups of 16
  Q5_K_R16 = 70,     // Q5_K rows interleaved in groups of 16
  Q4_0_R16 = 71,     // Q4_0 rows interleaved in groups of 16
  IQ1_S_R16 = 72,    // IQ1_S rows as 2-bit values, interleaved in groups of 16 (1.4x the bytes)
  IQ2_XXS_R16 = 73,  // IQ2_XXS rows as 3-bit codes, interleaved in groups of 16 (1.55x)
  IQ1_M_R16 = 74,    // IQ1_M rows as 3-bit codes in Q3_K_R16's layout (1.96x)
  IQ4_XS_R16 = 75,   // IQ4_XS rows interleaved in groups of 16, in their own bytes
  IQ3_XXS_R16 = 76,  // IQ3_XXS rows as 4-bit codes in IQ4_XS_R16's layout (1.39x)
  IQ3_S_R16 = 77,    // IQ3_S rows as 4-bit codes in IQ4_XS_R16's layout (1.24x)
  IQ2_XS_R16 = 78,   // IQ2_XS rows as IQ2_XXS_R16's codes with a scale per 16 values (1.43x)
  IQ2_S_R16 = 79,    // IQ2_S rows in IQ2_XS_R16's layout (1.29x)
};

// Type ids are below this bound (tables indexed by type id use it).
constexpr uint32_t kMaxTypeId = 80;

struct TypeTraits {
  GgmlType type;
  std::string_view name;  // ggml spelling: "q4_K", "q8_0", "bf16"
  int block_size;         // values per block
  int type_size;          // bytes per block
};

// nullptr for an id no ggml version has assigned (or has retired: 4, 5, 31-33, 36-38),
// and for the internal layouts: this is the lookup for types read from files.
const TypeTraits* find_type_traits(uint32_t id);
// True for the internal layouts above.
bool is_internal_type(GgmlType type);
const TypeTraits& type_traits(GgmlType type);
std::string_view type_name(GgmlType type);
std::optional<GgmlType> type_from_name(std::string_view name);  // case-insensitive, file types only

// Bytes of one row of `n` values; n must be a multiple of the block size.
inline uint64_t row_bytes(GgmlType type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  return static_cast<uint64_t>(n / t.block_size) * static_cast<uint64_t>(t.type_size);
}

}  // namespace moe
