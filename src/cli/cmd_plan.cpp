// `moeinfer plan [-m MODEL | --quant NAME] [--arch deepseek-r1|kimi-k2] [--ram 768G]
//                [--bandwidth 460GB/s] [--cores 16] [--vram 24G] [-c N] [-np N]
//                [--cache-type f16|bf16|q8_0] [--efficiency 0.8] [--json]`
// Will it fit and how fast will it run: one row per published DeepSeek-R1/V3 quant (the same
// quants of Kimi-K2 with --arch kimi-k2; or one row for the GGUF given with -m), with
// weights, bytes read per token, latent KV cache, compute buffers, total, fits, largest
// context, decode and prefill tok/s. The arithmetic and
// every default is documented in model/planner.h.
// Hardware not given is detected: RAM from /proc/meminfo, physical cores, the CPU's MHz,
// int8 MACs per cycle from its ISA, read bandwidth from a quick probe (base/membw.h).
// `--measure` builds an r1-slice synthetic model (1 dense + 1 MoE layer at R1's true dims,
// --type Q4_K_M) in a temporary folder, benchmarks it, derives this machine's decode and
// prefill efficiency and extrapolates to the full 61-layer R1 (or Kimi-K2).
#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/format.h"
#include "base/membw.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/default_vocab.h"
#include "engine/bench.h"
#include "engine/synth.h"
#include "gguf/gguf.h"
#include "model/model_info.h"
#include "model/planner.h"
#include "model/weights.h"

namespace moe::cli {
namespace {

namespace fs = std::filesystem;

std::vector<OptionSpec> plan_options() {
  return {
      {"--model", "-m", "FILE", "",
       "plan for this GGUF (default: every published DeepSeek-R1 quant)"},
      {"--arch", "", "NAME", "deepseek-r1",
       "without -m: the model the quant rows describe, deepseek-r1 (also V3) or kimi-k2; --measure "
       "extrapolates to it"},
      {"--quant", "-q", "NAME", "",
       "only this preset (BF16, Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q3_K_M, Q2_K, IQ1_S, IQ1_M, "
       "IQ2_XXS, Q2_K_XL)"},
      {"--ram", "", "SIZE", "", "RAM (e.g. 768G; default: MemTotal of /proc/meminfo)"},
      {"--vram", "", "SIZE", "0", "GPU memory, for the 'experts on CPU' offload column (e.g. 24G)"},
      {"--bandwidth", "", "GB/s", "",
       "sustained read bandwidth (e.g. 460GB/s; default: a quick probe)"},
      {"--cores", "", "N", "0", "physical cores (0: detected)"},
      {"--ghz", "", "X", "0", "core clock for the prefill model (0: /proc/cpuinfo, else 3)"},
      {"--macs-per-cycle", "", "N", "0",
       "int8 multiply-accumulates per core per cycle (0: 128 AVX-512 VNNI, 64 AVX2)"},
      {"--ctx-size", "-c", "N", "4096", "total context in tokens (shared by the slots)"},
      {"--parallel", "-np", "N", "1", "slots (sequences decoded together)"},
      {"--batch-size", "-b", "N", "512", "prefill batch (compute buffers)"},
      {"--cache-type", "", "TYPE", "f16",
       "latent KV cache type: f16, bf16 (read in place by AVX512-BF16 kernels; faster only where "
       "the CPU issues vdpbf16ps as fast as FMA) or q8_0"},
      {"--efficiency", "", "X", "0.8", "decode: fraction of the bandwidth the kernels reach"},
      {"--compute-efficiency", "", "X", "0.3", "prefill: fraction of the int8 MAC peak reached"},
      {"--os-reserve", "", "SIZE", "", "memory left to the OS (default: max(2G, RAM/32))"},
      {"--membw-size", "", "SIZE", "1G", "bandwidth probe buffer"},
      {"--json", "", "", "", "print one JSON object {\"rows\": [...]}"},
      {"--measure", "", "", "",
       "benchmark an r1-slice here and extrapolate to the full R1 (or --arch's model)"},
      {"--type", "", "TYPE", "Q4_K_M",
       "--measure: weight type of the slice, as synth's --type (Q4_K_M, Q5_K_M, Q3_K_M, Q2_K, "
       "IQ4_XS, IQ2_XXS, IQ1_M, IQ1_S, Q8_0, Q6_K, BF16, ...)"},
      {"--measure-preset", "", "NAME", "r1-slice",
       "--measure: synth preset (tiny for a quick check)"},
      {"--tmp-dir", "", "DIR", "",
       "--measure: where the slice is written (default: the system temp dir)"},
      {"--vocab", "", "FILE", "", "--measure: tokenizer source (default: the r1-mini fixture)"},
  };
}

// The model of the preset rows and of --measure's extrapolation.
struct PlanArch {
  std::string label;  // as printed
  ModelArgs args;
  bool published;  // the presets' published sizes are this model's
};

Result<PlanArch> read_arch(const Args& args) {
  const std::string name = args.get("--arch");
  if (name == "deepseek-r1") return PlanArch{"DeepSeek-R1", deepseek_r1_args(), true};
  if (name == "kimi-k2") return PlanArch{"Kimi-K2", kimi_k2_args(), false};
  return Status::error("--arch: expected deepseek-r1 or kimi-k2, got '" + name + "'");
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "460GB/s", "460 GB/s", "460" -> 460.0 (GB = 1e9 bytes); "1.2TB/s" -> 1200.
Result<double> parse_bandwidth(const std::string& text) {
  std::string t = lower(text);
  t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
  double scale = 1.0;
  for (const auto& [suffix, s] : {std::pair<std::string, double>{"tb/s", 1000.0},
                                  {"gb/s", 1.0},
                                  {"tb", 1000.0},
                                  {"gb", 1.0}}) {
    if (t.size() > suffix.size() && t.ends_with(suffix)) {
      t.resize(t.size() - suffix.size());
      scale = s;
      break;
    }
  }
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !(v > 0) || !std::isfinite(v)) {
    return Status::error("--bandwidth: cannot read '" + text + "' (e.g. 460GB/s)");
  }
  return v * scale;
}

uint64_t meminfo_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  while (in >> key) {
    if (key == "MemTotal:") {
      in >> kb;
      return kb * 1024;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

double cpuinfo_ghz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  double best = 0.0;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos)
        best = std::max(best, std::atof(line.c_str() + colon + 1) / 1000.0);
    }
  }
  return best > 0.1 ? best : 3.0;
}

struct HardwareSources {
  std::string ram = "given", bandwidth = "given", cores = "given";
};

Result<Hardware> read_hardware(const Args& args, HardwareSources* src) {
  Hardware hw;
  if (args.given("--ram")) {
    MOE_ASSIGN_OR_RETURN(hw.ram_bytes, parse_byte_size(args.get("--ram").c_str()));
  } else {
    hw.ram_bytes = meminfo_total_bytes();
    src->ram = "/proc/meminfo";
    if (hw.ram_bytes == 0)
      return Status::error("cannot read MemTotal from /proc/meminfo: give --ram SIZE");
  }
  if (args.get("--vram") != "0") {
    MOE_ASSIGN_OR_RETURN(hw.vram_bytes, parse_byte_size(args.get("--vram").c_str()));
  }
  MOE_ASSIGN_OR_RETURN(int64_t cores, args.get_int("--cores", 0, 1 << 16));
  if (cores == 0) src->cores = "detected";
  hw.cores = cores > 0 ? static_cast<int>(cores) : physical_core_count();
  MOE_ASSIGN_OR_RETURN(hw.ghz, args.get_double("--ghz", 0.0, 10.0));
  if (hw.ghz == 0.0) hw.ghz = cpuinfo_ghz();
  MOE_ASSIGN_OR_RETURN(int64_t macs, args.get_int("--macs-per-cycle", 0, 4096));
  if (macs == 0) {
    const CpuFeatures f = detect_cpu_features();
    macs = f.has_avx512_set() ? 128 : f.has_avx2_set() ? 64 : 16;
  }
  hw.int8_macs_per_cycle = static_cast<int>(macs);
  if (args.given("--bandwidth")) {
    MOE_ASSIGN_OR_RETURN(hw.bandwidth_gbps, parse_bandwidth(args.get("--bandwidth")));
  } else {
    MembwOptions o;
    MOE_ASSIGN_OR_RETURN(o.bytes, parse_byte_size(args.get("--membw-size").c_str()));
    o.passes = 3;
    o.threads = hw.cores;
    ThreadPool pool(hw.cores);
    auto r = measure_read_bandwidth(pool, o);
    if (!r) return r.status().with_context("bandwidth probe failed (give --bandwidth GB/s)");
    hw.bandwidth_gbps = r->best_gbps;
    src->bandwidth = "measured";
  }
  return hw;
}

Result<PlanOptions> read_plan_options(const Args& args) {
  PlanOptions o;
  MOE_ASSIGN_OR_RETURN(o.n_ctx, args.get_int("--ctx-size", 1, int64_t{1} << 32));
  MOE_ASSIGN_OR_RETURN(int64_t np, args.get_int("--parallel", 1, 4096));
  o.n_slots = static_cast<int>(np);
  MOE_ASSIGN_OR_RETURN(o.batch, args.get_int("--batch-size", 1, 1 << 20));
  MOE_ASSIGN_OR_RETURN(o.cache_type, parse_kv_cache_type(args.get("--cache-type")));
  MOE_ASSIGN_OR_RETURN(o.efficiency, args.get_double("--efficiency", 1e-3, 1.0));
  MOE_ASSIGN_OR_RETURN(o.compute_efficiency, args.get_double("--compute-efficiency", 1e-3, 1.0));
  if (args.given("--os-reserve")) {
    MOE_ASSIGN_OR_RETURN(uint64_t reserve, parse_byte_size(args.get("--os-reserve").c_str()));
    o.os_reserve_bytes = static_cast<int64_t>(reserve);
  }
  return o;
}

// llama_ftype names by general.file_type.
std::string ftype_name(uint64_t ftype) {
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {0, "F32"},      {1, "F16"},      {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},
      {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"}};
  for (const auto& [id, name] : kNames) {
    if (id == ftype) return name;
  }
  return "ftype " + std::to_string(ftype);
}

// One row for a GGUF file: its real tensors and ModelArgs.
Result<PlanRow> model_row(const std::string& path, const Hardware& hw, const PlanOptions& o) {
  MOE_ASSIGN_OR_RETURN(GgufModel file, GgufModel::open(path));
  MOE_ASSIGN_OR_RETURN(ModelArgs a, read_model_args(file.metadata()));
  MOE_ASSIGN_OR_RETURN(ModelWeights weights, bind_weights(file, a));
  const ModelFootprint fp = model_footprint(file, a, weights.ignored_tensors);
  WeightsFootprint w;
  for (const auto& [type, totals] : fp.by_type) w.weights_bytes += totals.bytes;
  w.bytes_per_token = fp.bytes_per_token;
  w.params_total = fp.params_total;
  w.params_per_token = fp.params_per_token;
  FootprintSplit split;
  const uint64_t used = static_cast<uint64_t>(a.n_activated_experts);
  const uint64_t total = static_cast<uint64_t>(std::max<int64_t>(1, a.n_routed_experts));
  for (const TensorInfo& t : file.tensors()) {
    if (std::find(weights.ignored_tensors.begin(), weights.ignored_tensors.end(), t.name) !=
        weights.ignored_tensors.end()) {
      continue;
    }
    if (t.name.find("_exps.") != std::string::npos) {
      split.expert_bytes_per_token += t.n_bytes * used / total;
      count_routed_tensor(&w, t.type, t.n_bytes, t.n_elements(), used, total);
    } else {
      split.non_expert_bytes += t.n_bytes;
    }
  }
  std::string quant = fs::path(path).filename().string();
  auto ftype = file.metadata().get_uint("general.file_type");
  if (ftype && *ftype) quant = ftype_name(**ftype);
  return plan_row(quant, a, w, split, hw, o);
}

nlohmann::ordered_json row_json(const PlanRow& r) {
  nlohmann::ordered_json j;
  j["quant"] = r.quant;
  j["weights_bytes"] = r.weights_bytes;
  j["published_bytes"] = r.published_bytes;
  j["bytes_per_token"] = r.bytes_per_token;
  j["params_per_token"] = r.params_per_token;
  j["kv_bytes_per_token"] = r.kv_bytes_per_token;
  j["kv_bytes"] = r.kv_bytes;
  j["kv_bytes_f16"] = r.kv_bytes_f16;
  j["kv_bytes_q8_0"] = r.kv_bytes_q8_0;
  j["compute_bytes"] = r.compute_bytes;
  j["os_reserve_bytes"] = r.os_reserve_bytes;
  j["total_bytes"] = r.total_bytes;
  j["fits"] = r.fits;
  j["converted_share"] = r.converted_share;
  j["max_context"] = r.max_context;
  j["vram_bytes_needed"] = r.vram_bytes_needed;
  j["vram_fits"] = r.vram_fits;
  j["decode_tps"] = r.decode_tps;
  j["decode_tps_total"] = r.decode_tps_total;
  j["prefill_macs_per_token"] = r.prefill_macs_per_token;
  j["prefill_tps"] = r.prefill_tps;
  return j;
}

double gb(uint64_t b) {
  return static_cast<double>(b) / 1e9;
}

std::string rate(double tps) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), tps >= 100 ? "%.0f t/s" : "%.1f t/s", tps);
  return buf;
}

std::string rows_text(const std::vector<PlanRow>& rows, const PlanOptions& o) {
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "| %-8s | %9s | %9s | %9s | %9s | %7s | %9s | %4s | %8s | %8s | %9s |\n", "quant",
                "weights", "per token", "KV f16", "KV q8_0", "compute", "total", "fits", "max ctx",
                "decode", "prefill");
  s += buf;
  s += "|----------|-----------|-----------|-----------|-----------|---------|-----------|------|"
       "----------|----------|-----------|\n";
  for (const PlanRow& r : rows) {
    std::snprintf(buf, sizeof(buf),
                  "| %-8s | %9s | %9s | %9s | %9s | %7s | %9s | %-4s | %8lld | %8s | %9s |\n",
                  r.quant.c_str(), format_bytes(r.weights_bytes).c_str(),
                  format_bytes(r.bytes_per_token).c_str(), format_bytes(r.kv_bytes_f16).c_str(),
                  format_bytes(r.kv_bytes_q8_0).c_str(), format_bytes(r.compute_bytes).c_str(),
                  format_bytes(r.total_bytes).c_str(), r.fits ? "yes" : "no",
                  static_cast<long long>(r.max_context), rate(r.decode_tps).c_str(),
                  rate(r.prefill_tps).c_str());
    s += buf;
  }
  std::snprintf(buf, sizeof(buf),
                "total = weights + KV (%s) + compute; fits = total + OS reserve (%.1f GB) <= RAM; "
                "decode at the end "
                "of a %lld-token context per slot%s\n",
                kv_cache_type_name(o.cache_type),
                rows.empty() ? 0.0 : gb(rows[0].os_reserve_bytes),
                static_cast<long long>(o.n_ctx / std::max(1, o.n_slots)),
                o.n_slots > 1 ? "; decode_tps_total (all slots together) in --json" : "");
  s += buf;
  if (std::any_of(rows.begin(), rows.end(), [](const PlanRow& r) { return r.codebook_params_per_token > 0; })) {
    s += "IQ1 / IQ2 / IQ3 experts: decode bound by their codebook products (default 2 values a "
         "cycle a core; docs/PERFORMANCE.md, \"The IQ codebook formats\"), not by the bandwidth\n";
  }
  if (std::any_of(rows.begin(), rows.end(),
                  [](const PlanRow& r) { return r.converted_share > 0; })) {
    s += "IQ1 / IQ2 / IQ3 (Q5_0, IQ4_NL) experts: converted at load into a "
         "faster layout 1.24-1.96x (1.5-1.9x) their size, layer by layer while that fits 85 % of "
         "RAM, and counted so in those rows (docs/LOADING.md, --no-repack)\n";
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// --measure

// Removes the temporary folder however the measurement ends.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

struct Measured {
  std::string preset, type;
  uint64_t slice_file_bytes = 0, slice_bytes_per_token = 0;
  double membw_gbps = 0, tg_tps = 0, pp_tps = 0, efficiency = 0, compute_efficiency = 0;
  std::string arch;  // the model extrapolated to
  PlanRow extrapolated;
};

Result<Measured> measure(const Args& args, const Hardware& hw, const PlanOptions& plan) {
  Measured m;
  m.preset = args.get("--measure-preset");
  MOE_ASSIGN_OR_RETURN(SynthMix mix, parse_synth_mix(args.get("--type")));
  m.type = std::string(synth_mix_name(mix));
  if (find_quant_preset(m.type) == nullptr) {
    return Status::error("--measure --type " + m.type +
                         ": no published R1 quant of that type to extrapolate to");
  }
  SynthOptions so;
  MOE_ASSIGN_OR_RETURN(so.args, synth_preset(m.preset));
  so.mix = mix;
  so.name = "moeinfer plan --measure " + m.preset;
  uint64_t expected = 0;
  for (const SynthTensor& t : synth_tensor_plan(so.args, mix)) expected += t.n_bytes();

  TempDir tmp;
  const fs::path base =
      args.given("--tmp-dir") ? fs::path(args.get("--tmp-dir")) : fs::temp_directory_path();
  std::string templ = (base / "moeinfer-plan-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr)
    return Status::error("cannot create a folder in " + base.string());
  tmp.path = templ;
  std::error_code ec;
  const fs::space_info space = fs::space(tmp.path, ec);
  const uint64_t margin = 1ull << 30;
  if (!ec && space.available < expected + margin) {
    return Status::error(m.preset + " needs " + std::to_string(gb(expected + margin)) +
                         " GB free in " + base.string() + ", there are " +
                         std::to_string(gb(space.available)) + " GB (--tmp-dir DIR)");
  }
  std::string vocab_path = args.get("--vocab");
  if (vocab_path.empty()) {
    MOE_ASSIGN_OR_RETURN(vocab_path, default_vocab_path());
  }
  MOE_ASSIGN_OR_RETURN(GgufModel vocab, GgufModel::open(vocab_path));
  const std::string path = (tmp.path / (m.preset + ".gguf")).string();
  ThreadPool pool(hw.cores);
  std::fprintf(stderr, "moeinfer plan: writing %s %s (%.2f GB) to %s\n", m.preset.c_str(),
               m.type.c_str(), gb(expected), path.c_str());
  MOE_ASSIGN_OR_RETURN(m.slice_file_bytes, write_synth_gguf(so, vocab.metadata(), pool, path));
  MOE_ASSIGN_OR_RETURN(auto model, Model::load(path, best_kernel_table()));

  MembwOptions mo;
  MOE_ASSIGN_OR_RETURN(mo.bytes, parse_byte_size(args.get("--membw-size").c_str()));
  mo.passes = 3;
  MOE_ASSIGN_OR_RETURN(MembwResult bw, measure_read_bandwidth(pool, mo));
  m.membw_gbps = bw.best_gbps;
  SessionConfig sc;
  sc.threads = hw.cores;
  sc.threads_batch = hw.cores;
  BenchOptions bo;
  bo.n_prompt = 64;
  bo.n_gen = 16;
  bo.reps = 3;
  std::fprintf(stderr, "moeinfer plan: benchmarking (pp%d, tg%d, %d reps, %d threads)\n",
               bo.n_prompt, bo.n_gen, bo.reps, hw.cores);
  MOE_ASSIGN_OR_RETURN(BenchRun run, run_bench(*model, pool, sc, plan.cache_type, bo));
  m.tg_tps = run.tg.mean;
  m.pp_tps = run.pp.mean;
  m.slice_bytes_per_token = bench_bytes_per_token(*model, 0);
  m.efficiency = m.tg_tps * static_cast<double>(m.slice_bytes_per_token) / (m.membw_gbps * 1e9);
  MOE_ASSIGN_OR_RETURN(ModelWeights weights, bind_weights(model->file(), model->args()));
  const ModelFootprint fp = model_footprint(model->file(), model->args(), weights.ignored_tensors);
  const double peak = static_cast<double>(hw.cores) * hw.ghz * 1e9 * hw.int8_macs_per_cycle;
  m.compute_efficiency =
      m.pp_tps * prefill_macs_per_token(model->args(), fp.params_per_token, bo.n_prompt) / peak;

  // Extrapolate: the model's bytes and MACs, this machine's bandwidth and measured efficiencies.
  MOE_ASSIGN_OR_RETURN(const PlanArch arch, read_arch(args));
  m.arch = arch.label;
  const ModelArgs& target = arch.args;
  Hardware measured_hw = hw;
  measured_hw.bandwidth_gbps = m.membw_gbps;
  measured_hw.codebook_values_per_cycle = 0;  // the measured efficiency already includes it
  PlanOptions po = plan;
  po.efficiency = std::clamp(m.efficiency, 1e-4, 1.0);
  po.compute_efficiency = std::clamp(m.compute_efficiency, 1e-4, 1.0);
  m.extrapolated = plan_row(m.type, target, preset_footprint(m.type, target),
                            preset_split(m.type, target), measured_hw, po);
  m.extrapolated.published_bytes = arch.published ? find_quant_preset(m.type)->published_bytes : 0;
  return m;
}

int run_measure(const Args& args, const Hardware& hw, const PlanOptions& plan) {
  auto m = measure(args, hw, plan);
  if (!m) return fail("plan", m.status().with_context("--measure"));
  if (args.flag("--json")) {
    nlohmann::ordered_json j;
    j["measure"] = {{"preset", m->preset},
                    {"type", m->type},
                    {"slice_file_bytes", m->slice_file_bytes},
                    {"slice_bytes_per_token", m->slice_bytes_per_token},
                    {"membw_gbps", m->membw_gbps},
                    {"tg_tps", m->tg_tps},
                    {"pp_tps", m->pp_tps},
                    {"efficiency", m->efficiency},
                    {"compute_efficiency", m->compute_efficiency}};
    j["rows"] = nlohmann::ordered_json::array({row_json(m->extrapolated)});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf(
      "%s %s: %.2f GB/token, tg %.2f tok/s = %.1f GB/s = %.1f %% of %.1f GB/s measured; pp64 %.1f "
      "tok/s "
      "= %.1f %% of the int8 MAC peak\n",
      m->preset.c_str(), m->type.c_str(), gb(m->slice_bytes_per_token), m->tg_tps,
      m->tg_tps * gb(m->slice_bytes_per_token), 100.0 * m->efficiency, m->membw_gbps, m->pp_tps,
      100.0 * m->compute_efficiency);
  std::printf("%s", rows_text({m->extrapolated}, plan).c_str());
  std::printf(
      "this machine would run %s %s at %.2f tok/s decode (%.1f tok/s prefill)%s\n", m->arch.c_str(),
      m->type.c_str(), m->extrapolated.decode_tps, m->extrapolated.prefill_tps,
      m->extrapolated.fits ? "" : " if it had the memory: it needs more RAM than this machine has");
  return 0;
}

}  // namespace

int plan_main(int argc, char** argv) {
  Args args("plan", "Will a DeepSeek model fit, with which context, and how fast will it run.",
            plan_options());
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer plan: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  auto options = read_plan_options(args);
  if (!options) return fail("plan", options.status());
  HardwareSources src;
  auto hw = read_hardware(args, &src);
  if (!hw) return fail("plan", hw.status());
  if (args.flag("--measure")) return run_measure(args, *hw, *options);

  std::vector<PlanRow> rows;
  std::optional<PlanArch> arch;  // the preset rows' model (none with -m)
  std::string model = args.get("--model");
  if (model.empty() && !args.positionals().empty()) model = args.positionals()[0];
  if (!model.empty()) {
    auto row = model_row(model, *hw, *options);
    if (!row) return fail("plan", row.status());
    rows.push_back(*row);
  } else {
    auto read = read_arch(args);
    if (!read) return fail("plan", read.status());
    arch = std::move(read).value();
    const ModelArgs& target = arch->args;
    const std::string only = args.get("--quant");
    if (!only.empty() && find_quant_preset(only) == nullptr) {
      return fail("plan", Status::error("--quant: unknown preset '" + only + "'"));
    }
    for (const QuantPreset& p : quant_presets()) {
      if (!only.empty() && find_quant_preset(only) != &p) continue;
      rows.push_back(plan_row(std::string(p.name), target, preset_footprint(p.name, target),
                              preset_split(p.name, target), *hw, *options));
      rows.back().published_bytes = arch->published ? p.published_bytes : 0;
    }
  }

  if (args.flag("--json")) {
    nlohmann::ordered_json j;
    j["hardware"] = {{"ram_bytes", hw->ram_bytes},
                     {"ram_source", src.ram},
                     {"vram_bytes", hw->vram_bytes},
                     {"bandwidth_gbps", hw->bandwidth_gbps},
                     {"bandwidth_source", src.bandwidth},
                     {"cores", hw->cores},
                     {"ghz", hw->ghz},
                     {"int8_macs_per_cycle", hw->int8_macs_per_cycle}};
    j["n_ctx"] = options->n_ctx;
    j["n_slots"] = options->n_slots;
    j["cache_type"] = kv_cache_type_name(options->cache_type);
    j["efficiency"] = options->efficiency;
    j["compute_efficiency"] = options->compute_efficiency;
    j["rows"] = nlohmann::ordered_json::array();
    for (const PlanRow& r : rows) j["rows"].push_back(row_json(r));
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf(
      "hardware: %.1f GiB RAM (%s), %.1f GB/s read (%s), %d cores (%s) at %.2f GHz x %d int8 "
      "MAC/cycle%s\n",
      static_cast<double>(hw->ram_bytes) / (1ull << 30), src.ram.c_str(), hw->bandwidth_gbps,
      src.bandwidth.c_str(), hw->cores, src.cores.c_str(), hw->ghz, hw->int8_macs_per_cycle,
      hw->vram_bytes > 0 ? (", " + std::to_string(hw->vram_bytes >> 30) + " GiB VRAM").c_str()
                         : "");
  std::printf(
      "context %lld tokens over %d slot(s), KV cache %s; decode efficiency %.2f, prefill "
      "efficiency %.2f\n",
      static_cast<long long>(options->n_ctx), options->n_slots,
      kv_cache_type_name(options->cache_type), options->efficiency,
      options->compute_efficiency);
  std::printf("%s", rows_text(rows, *options).c_str());
  if (arch) {
    std::printf("weights: %s's real shapes with each quant's per-tensor types%s; rules:\n",
                arch->label.c_str(),
                arch->published ? " (--json published_bytes gives the published size)"
                                : " (the sizes in the rules are DeepSeek-R1's)");
    for (const QuantPreset& p : quant_presets()) {
      std::printf("  %-8s %s\n", std::string(p.name).c_str(), std::string(p.assumption).c_str());
    }
  }
  return 0;
}

}  // namespace moe::cli
