#include "engine/bench.h"

#include "base/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "base/timer.h"
#include "model/model_info.h"

namespace moe {
namespace {

std::vector<int32_t> random_tokens(std::mt19937_64& rng, int64_t n_vocab, int n) {
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(n_vocab - 1));
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int32_t& t : out) t = dist(rng);
  return out;
}

// Feeds `prompt` as one prompt after the first `depth` cached tokens (later ones are
// dropped); returns the seconds it took.
Result<double> time_prompt(Session& session, int64_t depth, const std::vector<int32_t>& prompt) {
  session.truncate(depth);
  Timer timer;
  MOE_RETURN_IF_ERROR(session.feed(prompt));
  return timer.seconds();
}

// Feeds `tokens` one decode step at a time after the first `depth` cached tokens; returns
// the seconds.
Result<double> time_decode(Session& session, int64_t depth, const std::vector<int32_t>& tokens) {
  session.truncate(depth);
  Timer timer;
  for (const int32_t t : tokens) {
    const int32_t one[1] = {t};
    MOE_RETURN_IF_ERROR(session.feed(one));
  }
  return timer.seconds();
}

// "pp512", "tg128 @ d4096": a test as the table and the pool line name it.
std::string test_name(const BenchReport& r, const char* prefix, int n) {
  std::string name = prefix + std::to_string(n);
  if (r.options.depth > 0) name += " @ d" + std::to_string(r.options.depth);
  return name;
}

std::string file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

BenchStats bench_stats(std::vector<double> samples) {
  BenchStats s;
  s.samples = std::move(samples);
  if (s.samples.empty()) return s;
  double sum = 0.0;
  for (double v : s.samples) sum += v;
  s.mean = sum / static_cast<double>(s.samples.size());
  if (s.samples.size() > 1) {
    double ss = 0.0;
    for (double v : s.samples) ss += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(ss / static_cast<double>(s.samples.size() - 1));
  }
  return s;
}

// Every page the forward pass reads: the packed copies, and the file's tensors that no
// copy replaced (touching those too would read the whole file back where RAM holds only
// one of the two: a 12.9 GB r1-slice on a 23 GiB machine spent minutes in disk reads).
uint64_t touch_model_pages(const Model& model) {
  const auto touch = [](const uint8_t* data, uint64_t n) {
    const volatile uint8_t* p = data;
    for (uint64_t i = 0; i < n; i += 4096) static_cast<void>(p[i]);
    return n;
  };
  const ModelWeights& w = model.weights();
  uint64_t bytes = touch(w.packed.data(), w.packed.size());
  for (const TensorInfo& t : model.file().tensors()) {
    if (std::find(w.replaced.begin(), w.replaced.end(), t.data) == w.replaced.end())
      bytes += touch(t.data, t.n_bytes);
  }
  return bytes;
}

uint64_t bench_bytes_per_token(const Model& model, int n_experts) {
  ModelArgs args = model.args();
  if (n_experts > 0) args.n_activated_experts = std::min<int64_t>(n_experts, args.n_routed_experts);
  return model_footprint(model.file(), args, model.weights().ignored_tensors).bytes_per_token;
}

Result<BenchRun> run_bench(const Model& model, ThreadPool& pool, const SessionConfig& session_config,
                           KvCacheType cache_type, const BenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.depth < 0 || o.reps < 1) {
    return Status::error("bench: n_prompt, n_gen and depth must be >= 0 and reps >= 1");
  }
  const int64_t n_ctx = std::max<int64_t>(std::max(o.n_prompt, o.n_gen), 1) + o.depth;
  MOE_ASSIGN_OR_RETURN(KvCache kv, KvCache::create(model.args(), cache_type, n_ctx, 1));
  Session session(model, pool, kv, 0, session_config);
  const int64_t n_vocab = model.args().vocab_size;
  std::mt19937_64 rng(o.seed);
  // The depth's tokens are fed once (untimed); every test then truncates back to them.
  if (o.depth > 0) MOE_RETURN_IF_ERROR(session.feed(random_tokens(rng, n_vocab, o.depth)));

  if (o.warmup) {
    touch_model_pages(model);
    if (o.n_prompt > 0) {
      MOE_RETURN_IF_ERROR(time_prompt(session, o.depth, random_tokens(rng, n_vocab, o.n_prompt)).status());
    }
    if (o.n_gen > 0) {
      MOE_RETURN_IF_ERROR(time_decode(session, o.depth, random_tokens(rng, n_vocab, std::min(o.n_gen, 8))).status());
    }
  }
  std::vector<double> pp, tg;
  PoolStats tg_pool;  // summed over the timed tg steps
  for (int r = 0; r < o.reps; ++r) {
    if (o.n_prompt > 0) {
      MOE_ASSIGN_OR_RETURN(double s, time_prompt(session, o.depth, random_tokens(rng, n_vocab, o.n_prompt)));
      pp.push_back(s > 0 ? o.n_prompt / s : 0.0);
    }
    if (o.n_gen > 0) {
      const std::vector<int32_t> tokens = random_tokens(rng, n_vocab, o.n_gen);
      const PoolStats before = pool.stats();
      MOE_ASSIGN_OR_RETURN(double s, time_decode(session, o.depth, tokens));
      tg_pool += pool.stats() - before;
      tg.push_back(s > 0 ? o.n_gen / s : 0.0);
    }
  }
  BenchRun run;
  run.cache_tokens = session.n_past();
  session.truncate(0);
  run.pp = bench_stats(std::move(pp));
  run.tg = bench_stats(std::move(tg));
  if (o.n_gen > 0) {
    run.tg_regions_per_token =
        static_cast<double>(tg_pool.regions) / (static_cast<double>(o.n_gen) * o.reps);
    run.tg_pool_idle_pct = tg_pool.idle_pct();
  }
  return run;
}

double bench_tg_gbps(const BenchReport& r) {
  return static_cast<double>(r.bytes_per_token) * r.run.tg.mean / 1e9;
}

double bench_tg_pct_membw(const BenchReport& r) {
  return r.membw.best_gbps > 0 ? 100.0 * bench_tg_gbps(r) / r.membw.best_gbps : 0.0;
}

nlohmann::ordered_json bench_report_json(const BenchReport& r) {
  nlohmann::ordered_json j;
  j["model"] = r.model;
  j["file_bytes"] = r.file_bytes;
  j["bytes_per_token"] = r.bytes_per_token;
  j["isa"] = r.isa;
  j["threads"] = r.threads;
  j["threads_batch"] = r.threads_batch;
  j["n_experts"] = r.n_experts;
  j["n_prompt"] = r.options.n_prompt;
  j["n_gen"] = r.options.n_gen;
  j["n_depth"] = r.options.depth;
  j["reps"] = r.options.reps;
  j["pp_tps"] = r.run.pp.mean;
  j["pp_tps_stddev"] = r.run.pp.stddev;
  j["pp_samples"] = r.run.pp.samples;
  j["tg_tps"] = r.run.tg.mean;
  j["tg_tps_stddev"] = r.run.tg.stddev;
  j["tg_samples"] = r.run.tg.samples;
  j["tg_gbps"] = bench_tg_gbps(r);
  j["membw_gbps"] = r.membw.best_gbps;
  j["membw_threads"] = r.membw.threads;
  j["membw_bytes"] = r.membw.bytes;
  j["membw_huge_bytes"] = r.membw.huge_bytes;
  j["tg_pct_membw"] = bench_tg_pct_membw(r);
  j["tg_regions_per_token"] = r.run.tg_regions_per_token;
  j["tg_pool_idle_pct"] = r.run.tg_pool_idle_pct;
  return j;
}

std::string bench_table_header() {
  char line[512];
  std::snprintf(line, sizeof line, "| %-24s | %10s | %9s | %3s | %7s | %-14s | %16s | %7s | %7s |\n", "model",
                "size", "GB/token", "t", "tb", "test", "t/s", "GB/s", "% bw");
  return std::string(line) +
         "|--------------------------|------------|-----------|-----|---------|----------------|------------------|---------|---------|\n";
}

std::string bench_table_rows(const BenchReport& r) {
  std::string out;
  char line[512];
  auto row = [&](const char* prefix, int n, const BenchStats& s, bool tg) {
    char tps[64], gbps[32] = "", pct[32] = "";
    std::snprintf(tps, sizeof tps, "%.2f ± %.2f", s.mean, s.stddev);
    if (tg) {
      std::snprintf(gbps, sizeof gbps, "%.2f", bench_tg_gbps(r));
      if (r.membw.best_gbps > 0) std::snprintf(pct, sizeof pct, "%.1f %%", bench_tg_pct_membw(r));
    }
    // "±" is two bytes but one column: pad by hand.
    std::string tps_cell(tps);
    while (tps_cell.size() < 17) tps_cell.insert(tps_cell.begin(), ' ');
    std::snprintf(line, sizeof line,
                  "| %-24s | %10s | %9.3f | %3d | %7d | %-14s | %s | %7s | %7s |\n",
                  file_name(r.model).c_str(), format_bytes(r.file_bytes).c_str(),
                  static_cast<double>(r.bytes_per_token) / 1e9, r.threads, r.threads_batch,
                  test_name(r, prefix, n).c_str(), tps_cell.c_str(), gbps, pct);
    out += line;
  };
  if (r.options.n_prompt > 0) row("pp", r.options.n_prompt, r.run.pp, false);
  if (r.options.n_gen > 0) row("tg", r.options.n_gen, r.run.tg, true);
  return out;
}

std::string bench_membw_line(const BenchReport& r) {
  if (r.membw.best_gbps <= 0) return "";
  char line[640];
  std::snprintf(line, sizeof line,
                "membw: %.2f GB/s read (best of %d passes over %s, %d threads%s; %s); kernels %s\n",
                r.membw.best_gbps, r.membw.passes, format_bytes(r.membw.bytes).c_str(),
                r.membw.threads, r.membw.avx2 ? ", avx2" : "", r.membw.pages.c_str(),
                r.isa.c_str());
  return line;
}

std::string bench_pool_line(const BenchReport& r) {
  if (r.options.n_gen <= 0) return "";
  char line[256];
  std::snprintf(line, sizeof line,
                "%s, %d threads: %.1f parallel regions per token, threads idle %.1f %% of their "
                "time in them\n",
                test_name(r, "tg", r.options.n_gen).c_str(), r.threads, r.run.tg_regions_per_token,
                r.run.tg_pool_idle_pct);
  return line;
}

}  // namespace moe
