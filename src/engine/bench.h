// `moeinfer bench`'s measurements, reusable by other tools: prompt-processing and generation
// speed (mean ± stddev over repetitions, as llama-bench reports them), the bytes a decoded
// token reads (DEEPSEEK.md's bytes_per_token, from model_footprint), and the achieved GB/s
// against the machine's read bandwidth measured in the same run (base/membw.h).
//
//   pp: a random prompt of n_prompt tokens fed to an empty cache, timed whole.
//   tg: n_gen single-token decode steps from an empty cache (random tokens), timed whole.
//   tg_gbps = bytes_per_token x tg tok/s / 1e9;  tg_pct_membw = 100 x tg_gbps / membw_gbps.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/membw.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "engine/session.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe {

struct BenchOptions {
  int n_prompt = 512;   // 0: no pp test
  int n_gen = 128;      // 0: no tg test
  int depth = 0;        // tokens already in the cache when each test starts (llama-bench's -d)
  int reps = 5;
  uint64_t seed = 1234;  // the random prompt/tokens
  bool warmup = true;    // one untimed pp + a few tg steps first (after touching every page)
};

struct BenchStats {
  std::vector<double> samples;  // tok/s of each repetition
  double mean = 0.0;
  double stddev = 0.0;  // sample standard deviation (0 for one sample)
};
BenchStats bench_stats(std::vector<double> samples);

struct BenchRun {
  BenchStats pp;  // tok/s
  BenchStats tg;  // tok/s
  int64_t cache_tokens = 0;  // in the cache at the end of the last test (depth + its tokens)
  // Over the timed tg steps: the pool's parallel regions per token, and the share of the
  // threads' time in them spent not computing (waking, imbalance, waiting; ThreadPool::stats).
  double tg_regions_per_token = 0.0;
  double tg_pool_idle_pct = 0.0;
};

// Runs warm-up, then reps x (pp, tg). Threads come from `session` (threads for tg,
// threads_batch for pp), as in `run`.
Result<BenchRun> run_bench(const Model& model, ThreadPool& pool, const SessionConfig& session,
                           KvCacheType cache_type, const BenchOptions& options);

// Reads one byte of every page the forward pass reads: the packed copies and the file's
// tensors no copy replaced (faults them in, warms the page cache). Returns those bytes.
uint64_t touch_model_pages(const Model& model);

// bytes_per_token of the model when `n_experts` routed experts are used per token
// (0: the model's own count).
uint64_t bench_bytes_per_token(const Model& model, int n_experts);

// Everything one `bench` run reports.
struct BenchReport {
  std::string model;        // path
  uint64_t file_bytes = 0;
  uint64_t bytes_per_token = 0;
  std::string isa;
  int threads = 0;
  int threads_batch = 0;
  int n_experts = 0;        // routed experts per token actually used
  BenchOptions options;
  BenchRun run;
  MembwResult membw;
};

double bench_tg_gbps(const BenchReport& r);      // bytes_per_token x tg tok/s / 1e9
double bench_tg_pct_membw(const BenchReport& r); // 100 x tg_gbps / membw_gbps (0 without membw)

// One object: pp_tps, pp_tps_stddev, tg_tps, tg_tps_stddev, tg_gbps, membw_gbps,
// tg_pct_membw, threads, threads_batch, n_prompt, n_gen, reps, bytes_per_token, samples,
// tg_regions_per_token, tg_pool_idle_pct, ...
nlohmann::ordered_json bench_report_json(const BenchReport& r);
// llama-bench-like markdown table: its header, one run's rows (pp and/or tg), and the line
// that names the bandwidth probe and the kernels ("" without a probe).
std::string bench_table_header();
std::string bench_table_rows(const BenchReport& r);
std::string bench_membw_line(const BenchReport& r);
// "tg128 @ d4096, 2 threads: R parallel regions per token, threads idle I % of their time in
// them" ("" without tg).
std::string bench_pool_line(const BenchReport& r);

}  // namespace moe
