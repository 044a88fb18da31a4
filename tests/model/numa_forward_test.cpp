// --numa experts in the forward pass on a one-node machine: a simulated expert -> node map
// and a pool whose threads are marked as two nodes (AffinityPlan with nodes but no CPUs:
// nothing pinned) must give bitwise the logits of the plain path, and must really take the
// node-by-node schedule.
#include <cstring>

#include "model_test_util.h"

namespace moe::testing {
namespace {

// Logits of a prefill of `prompt`, then of three single-token decode steps.
std::vector<float> run_logits(const Model& model, ThreadPool& pool, int64_t* numa_regions = nullptr) {
  const std::vector<int32_t> prompt = {0, 671, 2342, 1911, 294, 447, 84, 730, 344, 12, 99, 5, 17, 4000};
  const std::vector<int32_t> decode = {33, 2000, 1000};
  auto kv = KvCache::create(model.args(), KvCacheType::kF16, 64, 1);
  Forward forward(model, pool);
  std::vector<float> out;
  Logits logits;
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < prompt.size(); ++i) batch.push_back({prompt[i], static_cast<int32_t>(i), 0, true});
  EXPECT_TRUE(forward.run(batch, *kv, logits).is_ok());
  out.insert(out.end(), logits.values.begin(), logits.values.end());
  for (size_t i = 0; i < decode.size(); ++i) {
    const BatchToken step{decode[i], static_cast<int32_t>(prompt.size() + i), 0, true};
    EXPECT_TRUE(forward.run(std::span<const BatchToken>(&step, 1), *kv, logits).is_ok());
    out.insert(out.end(), logits.values.begin(), logits.values.end());
  }
  if (numa_regions != nullptr) *numa_regions = forward.numa_ffn_regions();
  return out;
}

// Every MoE layer's experts spread over nodes 0 and 1 (shifted per layer), and every fifth
// expert on node 3, which has no thread (those fall back to all threads).
ExpertNodes fake_two_node_map(const ModelArgs& a) {
  ExpertNodes map;
  map.nodes.resize(static_cast<size_t>(a.n_layers));
  for (int64_t l = 0; l < a.n_layers; ++l) {
    if (!a.is_moe_layer(l)) continue;
    for (int64_t e = 0; e < a.n_routed_experts; ++e) {
      map.nodes[static_cast<size_t>(l)].push_back(e % 5 == 4 ? 3 : static_cast<int>((e + l) % 2));
    }
  }
  return map;
}

// A pool of nodes.size() threads marked as on those nodes, without pinning.
std::unique_ptr<ThreadPool> simulated_pool(std::vector<int> nodes) {
  AffinityPlan plan;
  plan.nodes = std::move(nodes);
  return std::make_unique<ThreadPool>(static_cast<int>(plan.nodes.size()), std::move(plan));
}

TEST(NumaForward, ExpertsOnTheirNodesThreadsGiveBitwiseTheSameLogits) {
  for (const char* name : {"r1-mini-q4_k_m", "r1-mini-q8_0", "r1-mini-bf16", "v2lite-mini-q8_0"}) {
    SCOPED_TRACE(name);
    auto model = load_fixture(name);
    ASSERT_NE(model, nullptr);
    ASSERT_TRUE(model->expert_nodes(1).empty()) << "no --numa experts: no map";
    ThreadPool plain(4);
    int64_t regions = -1;
    const auto expected = run_logits(*model, plain, &regions);
    EXPECT_EQ(regions, 0);
    ASSERT_FALSE(expected.empty());

    model->set_expert_nodes(fake_two_node_map(model->args()));
    for (const std::vector<int>& nodes :
         {std::vector<int>{0, 0, 1, 1}, std::vector<int>{0, 1, 0, 1, 1}, std::vector<int>{1, 0, 0}}) {
      auto pool = simulated_pool(nodes);
      const auto got = run_logits(*model, *pool, &regions);
      EXPECT_GT(regions, 0) << "the node-by-node schedule was not used";
      ASSERT_EQ(got.size(), expected.size());
      EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)));
    }
    // The map with threads on one node: the plain path.
    auto one_node = simulated_pool({0, 0, 0});
    const auto same = run_logits(*model, *one_node, &regions);
    EXPECT_EQ(regions, 0);
    EXPECT_EQ(0, std::memcmp(same.data(), expected.data(), same.size() * sizeof(float)));
  }
}

TEST(NumaForward, ExpertNodesFromTheLoadReport) {
  const std::vector<ExpertRef> experts = {{1, 0, 10}, {1, 1, 10}, {2, 1, 10}, {2, 3, 10}, {7, 0, 10}};
  const std::vector<int> node_of = {0, 1, 1, 0, 1};
  const ExpertNodes map = expert_nodes_from(experts, node_of, 3, 4);
  ASSERT_EQ(map.nodes.size(), 3u);
  EXPECT_TRUE(map.nodes[0].empty());                              // a dense layer
  EXPECT_EQ(map.nodes[1], (std::vector<int>{0, 1, -1, -1}));       // unplaced: any thread
  EXPECT_EQ(map.nodes[2], (std::vector<int>{-1, 1, -1, 0}));
  EXPECT_TRUE(expert_nodes_from(experts, {}, 3, 4).empty());      // no --numa experts
}

}  // namespace
}  // namespace moe::testing
