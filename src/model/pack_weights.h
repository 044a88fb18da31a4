// Load-time repacking: the matrices whose type the kernel table packs (kernels/packed.h)
// are rewritten once into the packed layout, and their views switched to it. With the
// weights in anonymous memory (--no-mmap) the rewrite is in place, so memory does not
// grow; with mmap the packed copies go to anonymous memory (transparent huge pages where
// the kernel allows) and the file's pages are no longer read.
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

struct PackReport {
  int tensors = 0;
  uint64_t bytes = 0;
  bool in_place = false;
  double seconds = 0;
  std::string describe() const;  // "packed 61 tensors, 12.9 GB, in place, 3.1 s"
};

// `in_place`: the views point into writable anonymous memory that only they use.
// `n_threads` threads share the work. Packed copies (not in place) live in `w.packed`.
Result<PackReport> pack_weights(ModelWeights& w, const KernelTable& k, bool in_place, int n_threads);

}  // namespace moe
