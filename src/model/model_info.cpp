#include "model/model_info.h"

#include <algorithm>
#include <set>

namespace moe {

ModelFootprint model_footprint(const GgufModel& file, const ModelArgs& a,
                               const std::vector<std::string>& ignored) {
  const std::set<std::string> skip(ignored.begin(), ignored.end());
  ModelFootprint f;
  // Per-token share of routed-expert tensors, as an exact fraction.
  const uint64_t used = static_cast<uint64_t>(a.n_activated_experts);
  const uint64_t total = static_cast<uint64_t>(std::max<int64_t>(1, a.n_routed_experts));
  for (const TensorInfo& t : file.tensors()) {
    if (skip.count(t.name)) continue;
    const int64_t params = t.n_elements();
    TypeTotals& tt = f.by_type[std::string(type_name(t.type))];
    ++tt.tensors;
    tt.bytes += t.n_bytes;
    tt.params += params;
    f.params_total += params;
    if (t.name.find("_exps.") != std::string::npos) {
      f.params_per_token += static_cast<int64_t>(static_cast<uint64_t>(params) * used / total);
      f.bytes_per_token += t.n_bytes * used / total;
    } else if (t.name == "token_embd.weight") {
      f.params_per_token += t.ne[0];
      f.bytes_per_token += t.row_bytes();
    } else {
      f.params_per_token += params;
      f.bytes_per_token += t.n_bytes;
    }
  }
  f.kv_bytes_per_token = static_cast<uint64_t>(a.kv_cache_width() * 2 * a.n_layers);
  return f;
}

}  // namespace moe
