// Load-time repacking: the matrices whose type the kernel table packs (kernels/packed.h)
// are rewritten once into the packed layout, and their views switched to it. With the
// weights in anonymous memory (--no-mmap) the rewrite is in place, so memory does not
// grow; with mmap the packed copies go to anonymous memory (transparent huge pages where
// the kernel allows) and the file's pages are no longer read.
//
// Conversions into a layout with larger rows (Q5_0 / IQ4_NL -> Q8_0_R16, 1.5-1.9x the bytes; IQ1_S
// -> IQ1_S_R16, 1.4x; IQ2_XXS -> IQ2_XXS_R16, 1.55x; IQ1_M -> IQ1_M_R16, 1.96x; IQ2_XS / IQ2_S ->
// IQ2_XS_R16 / IQ2_S_R16, 1.43x / 1.29x; IQ3_XXS / IQ3_S -> IQ3_XXS_R16 / IQ3_S_R16, 1.39x / 1.24x)
// are always made for the small matrices, and for the routed experts (the bulk of the file) layer
// by layer while the weights still fit `memory_limit`: the loaded bytes, less the converted
// experts' file bytes when those are page cache the kernel may drop (mmap), plus their converted
// copies. Past the limit the remaining experts keep the file's layout. The converted layouts decode
// about twice (Q8_0_R16: one core, the IQ4_NL file-layout product 5.2-5.4 GB/s, Q8_0_R16 19-20
// GB/s; PERFORMANCE.md, "Q4_0 and IQ4_NL experts") to three to six times (IQ1_S_R16, IQ2_XXS_R16,
// IQ2_XS_R16, IQ2_S_R16, IQ1_M_R16, IQ3_XXS_R16, IQ3_S_R16, whose file layouts are bound by their
// codebook lookups: "IQ1_S_R16 and IQ2_XXS_R16", "IQ1_M_R16", "IQ3_XXS_R16 and IQ3_S_R16") as fast
// per value. Q4_0 (Kimi-K2-Thinking's int4 experts, about 0.55 TB) and IQ4_XS have packed layouts
// of their own bytes, Q4_0_R16 and IQ4_XS_R16, so they never grow.
//
// A matrix whose row count is not a multiple of the group is packed in its whole groups,
// its last rows (TensorView::tail_rows) left in the source layout at their usual offsets;
// only the output matrix may have such a tail (its product goes through matmul(), which
// multiplies the tail with the packed type's tail_gemm). Others need whole groups.
#pragma once

#include <cstdint>
#include <string>

#include "base/memory.h"
#include "base/status.h"
#include "kernels/kernels.h"
#include "model/weights.h"

namespace moe {

// The default limit of the routed experts' conversions: this share of the machine's RAM (the
// planner predicts with it too).
constexpr uint64_t kConversionRamPercent = 85;

struct PackReport {
  int tensors = 0;
  uint64_t bytes = 0;
  bool in_place = false;
  double seconds = 0;
  // Routed-expert tensors whose packed layout would be a larger conversion (Q5_0, IQ4_NL ->
  // Q8_0_R16; IQ1_S, IQ2_XXS -> their _R16 layouts) that no longer fitted the memory limit:
  // left as the file has them.
  int kept_tensors = 0;
  uint64_t kept_bytes = 0;
  uint64_t kept_growth = 0;      // the bytes their conversion would have added
  // The copies' memory as obtained (MemoryRegion::describe: how much on huge pages); empty
  // in place.
  std::string copies_memory;
  std::string describe() const;  // "packed 61 tensors, 12.9 GB, in place, 3.1 s"
};

// `in_place`: the views point into writable anonymous memory that only they use.
// `n_threads` threads share the work. Packed copies (not in place) live in `w.packed`.
// `loaded_bytes`, `memory_limit`: the weights' bytes as loaded and the limit for the routed
// experts' conversions (0: no limit).
Result<PackReport> pack_weights(ModelWeights& w, const KernelTable& k, bool in_place, int n_threads,
                                uint64_t loaded_bytes = 0, uint64_t memory_limit = 0);

}  // namespace moe
