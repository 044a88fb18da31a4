// `moeinfer bench -m MODEL [-p 512] [-n 128] [-d 0] [-t N] [-tb N] [-r 5] [--json]`: prompt-processing
// and generation tok/s (mean ± stddev over -r repetitions, after a warm-up), the GB/s that
// generation achieves (bytes_per_token x tok/s) and its share of the read bandwidth measured
// in the same run. -p, -n, -d, -t and -tb also take lists ("-p 128,512 -d 0,4096 -t 8,16"):
// one table, or with --json an array of the objects one test prints.
// `moeinfer bench --membw [-t N] [--membw-size 4G]`: only the bandwidth probe.
// `moeinfer bench --load -m MODEL [--cold]`: loading into memory against `cat` (bench_load.h).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/log.h"
#include "base/membw.h"
#include "cli/args.h"
#include "cli/bench_load.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "engine/bench.h"

namespace moe::cli {
namespace {

std::vector<OptionSpec> bench_options() {
  std::vector<OptionSpec> specs = {
      {"--n-prompt", "-p", "N[,N...]", "512", "prompt tokens per pp test (0: no pp test)"},
      {"--n-gen", "-n", "N[,N...]", "128", "decode steps per tg test (0: no tg test)"},
      {"--depth", "-d", "N[,N...]", "0", "tokens already in the cache when each test starts (untimed)"},
      {"--repetitions", "-r", "N", "5", "repetitions of each test"},
      {"--json", "", "", "", "print one JSON object (with lists: an array, one object per test)"},
      {"--no-warmup", "", "", "", "skip the warm-up run"},
      {"--seed", "-s", "N", "1234", "seed of the random prompt and tokens"},
      {"--membw", "", "", "", "only measure the read bandwidth (no model)"},
      {"--load", "", "", "", "only measure loading into memory (--no-mmap, --hugepages, --read-method) against cat"},
      {"--cold", "", "", "", "with --load: drop the files from the page cache before each read"},
      {"--membw-size", "", "SIZE", "4G", "bandwidth probe buffer (e.g. 4G, 512M; 0: skip the probe)"},
      {"--membw-passes", "", "N", "5", "bandwidth probe passes (the best is reported)"},
      {"--membw-threads", "", "N", "0", "bandwidth probe threads (0: as -t)"},
      {"--membw-pages", "", "MODE", "thp", "bandwidth probe buffer's pages: thp (as the weights), off (4 KiB), 2m, 1g"},
  };
  add_model_options(specs);
  for (OptionSpec& spec : specs) {  // bench also takes lists of thread counts
    if (spec.name == "--threads" || spec.name == "--threads-batch") spec.value = "N[,N...]";
  }
  return specs;
}

// The probe's options from the command line; bytes == 0 means "skip".
Result<MembwOptions> membw_options(const Args& args, int default_threads) {
  MembwOptions o;
  const std::string size = args.get("--membw-size");
  if (size == "0") {
    o.bytes = 0;
  } else {
    MOE_ASSIGN_OR_RETURN(o.bytes, parse_byte_size(size.c_str()));
  }
  MOE_ASSIGN_OR_RETURN(int64_t passes, args.get_int("--membw-passes", 1, 1000));
  MOE_ASSIGN_OR_RETURN(int64_t threads, args.get_int("--membw-threads", 0, 1024));
  o.passes = static_cast<int>(passes);
  o.threads = threads > 0 ? static_cast<int>(threads) : default_threads;
  MOE_ASSIGN_OR_RETURN(o.pages, parse_page_policy(args.get("--membw-pages")));
  return o;
}

// The probe alone, once per -t value (one object, or with a list an array of them).
int membw_only(const Args& args) {
  auto threads_list = args.get_int_list("--threads", 0, 1024);
  if (!threads_list) return fail("bench", threads_list.status());
  const bool json = args.flag("--json");
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const int64_t t : *threads_list) {
    const int threads = t > 0 ? static_cast<int>(t) : physical_core_count();
    auto o = membw_options(args, threads);
    if (!o) return fail("bench", o.status());
    if (o->bytes == 0)
      return fail("bench", Status::error("--membw with --membw-size 0: nothing to measure"));
    ThreadPool pool(o->threads);
    auto r = measure_read_bandwidth(pool, *o);
    if (!r) return fail("bench", r.status());
    if (json) {
      nlohmann::ordered_json j;
      j["membw_gbps"] = r->best_gbps;
      j["membw_mean_gbps"] = r->mean_gbps;
      j["threads"] = r->threads;
      j["bytes"] = r->bytes;
      j["passes"] = r->passes;
      j["avx2"] = r->avx2;
      j["huge_bytes"] = r->huge_bytes;
      all.push_back(j);
    } else {
      std::printf(
          "membw: %.2f GB/s read (best of %d passes; mean %.2f) over %.2f GiB, %d threads%s; %s\n",
          r->best_gbps, r->passes, r->mean_gbps, static_cast<double>(r->bytes) / (1ull << 30),
          r->threads, r->avx2 ? ", AVX2 loads" : ", 64-bit loads", r->pages.c_str());
    }
  }
  if (json) std::printf("%s\n", (all.size() == 1 ? all[0] : all).dump(2).c_str());
  return 0;
}

// The tests that lists of -p, -n and -d ask for. One value each: one test with both pp and
// tg, as always. Otherwise, as llama-bench: for each depth, a pp test per prompt size, then
// a tg test per generation length (zeros skipped).
std::vector<BenchOptions> bench_tests(const BenchOptions& base, const std::vector<int64_t>& prompts,
                                      const std::vector<int64_t>& gens, const std::vector<int64_t>& depths) {
  std::vector<BenchOptions> tests;
  auto add = [&](int64_t p, int64_t n, int64_t d) {
    BenchOptions o = base;
    o.n_prompt = static_cast<int>(p);
    o.n_gen = static_cast<int>(n);
    o.depth = static_cast<int>(d);
    tests.push_back(o);
  };
  if (prompts.size() == 1 && gens.size() == 1 && depths.size() == 1) {
    if (prompts[0] > 0 || gens[0] > 0) add(prompts[0], gens[0], depths[0]);
    return tests;
  }
  for (int64_t d : depths) {
    for (int64_t p : prompts) {
      if (p > 0) add(p, 0, d);
    }
    for (int64_t n : gens) {
      if (n > 0) add(0, n, d);
    }
  }
  return tests;
}

}  // namespace

int bench_main(int argc, char** argv) {
  Args args("bench", "Measure prompt processing and generation speed against the memory-bandwidth roofline.",
            bench_options());
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer bench: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  if (args.flag("--membw")) return membw_only(args);
  if (args.flag("--load")) return bench_load(args);

  BenchOptions options;
  auto n_prompt = args.get_int_list("--n-prompt", 0, 1 << 20);
  if (!n_prompt) return fail("bench", n_prompt.status());
  auto n_gen = args.get_int_list("--n-gen", 0, 1 << 20);
  if (!n_gen) return fail("bench", n_gen.status());
  auto depth = args.get_int_list("--depth", 0, 1 << 22);
  if (!depth) return fail("bench", depth.status());
  auto reps = args.get_int("--repetitions", 1, 10000);
  if (!reps) return fail("bench", reps.status());
  auto seed = args.get_int("--seed", 0, INT64_MAX);
  if (!seed) return fail("bench", seed.status());
  options.reps = static_cast<int>(*reps);
  options.seed = static_cast<uint64_t>(*seed);
  options.warmup = !args.flag("--no-warmup");
  const std::vector<BenchOptions> tests = bench_tests(options, *n_prompt, *n_gen, *depth);
  if (tests.empty())
    return fail("bench", Status::error("every -p and -n value is 0: nothing to measure"));

  // The bandwidth probe, once per -t value, runs before the weights load: its buffer then
  // gets the free memory (huge pages) as the weights did, not what they and the page cache
  // leave (after a 12.9 GB file on a 23 GiB machine it found 0.1 GB of huge pages).
  std::vector<MembwResult> probes;
  const auto probe_all = [&](ThreadPool& pool, const std::vector<int>& threads_list) -> Status {
    for (const int threads : threads_list) {
      MOE_ASSIGN_OR_RETURN(MembwOptions probe, membw_options(args, threads));
      MembwResult r;  // bytes == 0: no probe
      if (probe.bytes > 0) {
        MOE_ASSIGN_OR_RETURN(r, measure_read_bandwidth(pool, probe));
        MOE_LOG_INFO("bandwidth probe, %d threads: %.2f GB/s read (%s)", threads, r.best_gbps,
                     r.pages.c_str());
      }
      probes.push_back(r);
    }
    return Status::ok();
  };
  auto loaded = load_model_from_args(args, {}, /*thread_lists=*/true, probe_all);
  if (!loaded) return fail("bench", loaded.status());
  const Model& model = *loaded->model;

  BenchReport report;  // what every test shares; its options and run are each test's
  report.model = model_path_arg(args);
  report.file_bytes = model.file().file_bytes();
  report.isa = std::string(isa_name(model.kernels().isa));
  report.n_experts = loaded->session.n_experts > 0 ? loaded->session.n_experts
                                                   : static_cast<int>(model.args().n_activated_experts);
  report.bytes_per_token = bench_bytes_per_token(model, loaded->session.n_experts);
  const bool json = args.flag("--json");
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  std::string membw_lines, pool_lines;
  if (!json) std::printf("%s", bench_table_header().c_str());
  // Every (-t, -tb) pair runs every test, against the probe of its -t value.
  for (size_t i = 0; i < loaded->threads_list.size(); ++i) {
    const int threads = loaded->threads_list[i];
    report.membw = probes[i];  // the denominator, measured in this run
    membw_lines += bench_membw_line(report);
    for (const int threads_batch : loaded->threads_batch_list) {
      SessionConfig session = loaded->session;
      session.threads = threads;
      session.threads_batch = threads_batch;
      report.threads = threads;
      report.threads_batch = threads_batch;
      for (const BenchOptions& test : tests) {
        report.options = test;
        auto run = run_bench(model, *loaded->pool, session, loaded->cache_type, test);
        if (!run) return fail("bench", run.status());
        report.run = *run;
        if (json) {
          all.push_back(bench_report_json(report));
        } else {
          std::printf("%s", bench_table_rows(report).c_str());
          if (threads_batch == loaded->threads_batch_list.front())
            pool_lines += bench_pool_line(report);
          std::fflush(stdout);  // a row as soon as its test ends
        }
      }
    }
  }
  if (json) {
    std::printf("%s\n", (all.size() == 1 ? all[0] : all).dump(2).c_str());
  } else {
    std::printf("%s%s", membw_lines.c_str(), pool_lines.c_str());
  }
  return 0;
}

}  // namespace moe::cli
