#include "gguf/types.h"

#include <array>
#include <cctype>

#include "base/check.h"

namespace moe {
namespace {

constexpr std::array<TypeTraits, 32> kTypes = {{
    {GgmlType::F32, "f32", 1, 4},
    {GgmlType::F16, "f16", 1, 2},
    {GgmlType::Q4_0, "q4_0", 32, 18},
    {GgmlType::Q4_1, "q4_1", 32, 20},
    {GgmlType::Q5_0, "q5_0", 32, 22},
    {GgmlType::Q5_1, "q5_1", 32, 24},
    {GgmlType::Q8_0, "q8_0", 32, 34},
    {GgmlType::Q8_1, "q8_1", 32, 36},
    {GgmlType::Q2_K, "q2_K", 256, 84},
    {GgmlType::Q3_K, "q3_K", 256, 110},
    {GgmlType::Q4_K, "q4_K", 256, 144},
    {GgmlType::Q5_K, "q5_K", 256, 176},
    {GgmlType::Q6_K, "q6_K", 256, 210},
    {GgmlType::Q8_K, "q8_K", 256, 292},
    {GgmlType::IQ2_XXS, "iq2_xxs", 256, 66},
    {GgmlType::IQ2_XS, "iq2_xs", 256, 74},
    {GgmlType::IQ3_XXS, "iq3_xxs", 256, 98},
    {GgmlType::IQ1_S, "iq1_s", 256, 50},
    {GgmlType::IQ4_NL, "iq4_nl", 32, 18},
    {GgmlType::IQ3_S, "iq3_s", 256, 110},
    {GgmlType::IQ2_S, "iq2_s", 256, 82},
    {GgmlType::IQ4_XS, "iq4_xs", 256, 136},
    {GgmlType::I8, "i8", 1, 1},
    {GgmlType::I16, "i16", 1, 2},
    {GgmlType::I32, "i32", 1, 4},
    {GgmlType::I64, "i64", 1, 8},
    {GgmlType::F64, "f64", 1, 8},
    {GgmlType::IQ1_M, "iq1_m", 256, 56},
    {GgmlType::BF16, "bf16", 1, 2},
    {GgmlType::TQ1_0, "tq1_0", 256, 54},
    {GgmlType::TQ2_0, "tq2_0", 256, 66},
    {GgmlType::MXFP4, "mxfp4", 32, 17},
}};

// Same bytes per block as their sources, so a packed tensor keeps its size and row stride,
// but for the conversions (IQ1_S_R16: 70 bytes per 256 values against IQ1_S's 50;
// IQ2_XXS_R16: 102 against 66; IQ1_M_R16: 110 against 56; IQ3_XXS_R16 136 against 98; IQ3_S_R16
// 136 against 110; IQ2_XS_R16 / IQ2_S_R16 106 against 74 / 82).
constexpr std::array<TypeTraits, 16> kInternalTypes = {{
    {GgmlType::Q8_0_R16, "q8_0_r16", 32, 34},
    {GgmlType::Q4_K_R16, "q4_K_r16", 256, 144},
    {GgmlType::Q6_K_R16, "q6_K_r16", 256, 210},
    {GgmlType::Q8_0_S, "q8_0_s", 32, 40},
    {GgmlType::Q2_K_R16, "q2_K_r16", 256, 84},
    {GgmlType::Q3_K_R16, "q3_K_r16", 256, 110},
    {GgmlType::Q5_K_R16, "q5_K_r16", 256, 176},
    {GgmlType::Q4_0_R16, "q4_0_r16", 32, 18},
    {GgmlType::IQ1_S_R16, "iq1_s_r16", 256, 70},
    {GgmlType::IQ2_XXS_R16, "iq2_xxs_r16", 256, 102},
    {GgmlType::IQ1_M_R16, "iq1_m_r16", 256, 110},
    {GgmlType::IQ4_XS_R16, "iq4_xs_r16", 256, 136},
    {GgmlType::IQ3_XXS_R16, "iq3_xxs_r16", 256, 136},
    {GgmlType::IQ3_S_R16, "iq3_s_r16", 256, 136},
    {GgmlType::IQ2_XS_R16, "iq2_xs_r16", 256, 106},
    {GgmlType::IQ2_S_R16, "iq2_s_r16", 256, 106},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const TypeTraits* find_type_traits(uint32_t id) {
  for (const TypeTraits& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return &t;
  }
  return nullptr;
}

bool is_internal_type(GgmlType type) {
  for (const TypeTraits& t : kInternalTypes) {
    if (t.type == type) return true;
  }
  return false;
}

const TypeTraits& type_traits(GgmlType type) {
  const TypeTraits* t = find_type_traits(static_cast<uint32_t>(type));
  if (t == nullptr) {
    for (const TypeTraits& i : kInternalTypes) {
      if (i.type == type) t = &i;
    }
  }
  MOE_CHECK(t != nullptr);
  return *t;
}

std::string_view type_name(GgmlType type) { return type_traits(type).name; }

std::optional<GgmlType> type_from_name(std::string_view name) {
  for (const TypeTraits& t : kTypes) {
    if (iequals(t.name, name)) return t.type;
  }
  return std::nullopt;
}

}  // namespace moe
