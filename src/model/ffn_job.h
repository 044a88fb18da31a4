// One feed-forward network applied to a contiguous range of gathered token rows.
#pragma once

#include <cstdint>

#include "model/tensor_view.h"

namespace moe {

struct FfnJob {
  TensorView w1;  // gate: [dim] -> [inter]   (2-D views)
  TensorView w3;  // up:   [dim] -> [inter]
  TensorView w2;  // down: [inter] -> [dim]
  int64_t row0 = 0;    // first gathered row of this job
  int64_t n_rows = 0;  // gathered rows (tokens) of this job
  int node = -1;       // NUMA node holding the weights (--numa experts); -1: any thread
};

}  // namespace moe
