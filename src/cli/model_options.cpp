#include "cli/model_options.h"

#include <algorithm>

#include "base/cpu_features.h"
#include "base/log.h"

namespace moe::cli {

void add_model_options(std::vector<OptionSpec>& specs) {
  const std::vector<OptionSpec> shared = {
      {"--model", "-m", "FILE", "", "GGUF model file (or first part of a split set)"},
      {"--ctx-size", "-c", "N", "0", "context size in tokens (0: 4096 or the trained context if smaller)"},
      {"--threads", "-t", "N", "0", "decode threads (0: physical cores)"},
      {"--threads-batch", "-tb", "N", "0", "prefill threads (0: physical cores)"},
      {"--batch-size", "-b", "N", "512", "prefill batch size in tokens"},
      {"--cache-type", "", "TYPE", "f16", "latent KV cache type: f16 or q8_0"},
      {"--n-experts", "", "N", "0", "routed experts per token (0: the model's; fewer is faster)"},
      {"--isa", "", "NAME", "auto", "kernel set: auto, scalar, avx2, avx512"},
      {"--verbose", "-v", "", "", "log more"},
  };
  specs.insert(specs.end(), shared.begin(), shared.end());
}

Result<LoadedModel> load_model_from_args(const Args& args) {
  if (args.flag("--verbose")) set_log_level(LogLevel::kDebug);
  std::string path = args.get("--model");
  if (path.empty() && !args.positionals().empty()) path = args.positionals()[0];
  if (path.empty()) return Status::error("no model given (-m FILE)");

  const std::string isa = args.get("--isa");
  const KernelTable* kernels = &best_kernel_table();
  if (isa != "auto") {
    Isa want;
    if (isa == "scalar") {
      want = Isa::kScalar;
    } else if (isa == "avx2") {
      want = Isa::kAvx2;
    } else if (isa == "avx512") {
      want = Isa::kAvx512;
    } else {
      return Status::error("--isa: unknown kernel set '" + isa + "' (auto, scalar, avx2, avx512)");
    }
    if (!isa_supported(want)) return Status::error("--isa " + isa + ": not supported by this CPU");
    kernels = &kernel_table(want);
  }
  MOE_LOG_DEBUG("cpu features: %s; kernels: %s", detect_cpu_features().describe().c_str(),
                std::string(isa_name(kernels->isa)).c_str());

  LoadedModel out;
  MOE_ASSIGN_OR_RETURN(out.cache_type, parse_kv_cache_type(args.get("--cache-type")));
  MOE_ASSIGN_OR_RETURN(int64_t threads, args.get_int("--threads", 0, 1024));
  MOE_ASSIGN_OR_RETURN(int64_t threads_batch, args.get_int("--threads-batch", 0, 1024));
  MOE_ASSIGN_OR_RETURN(int64_t batch, args.get_int("--batch-size", 1, 1 << 16));
  MOE_ASSIGN_OR_RETURN(int64_t ctx, args.get_int("--ctx-size", 0, 1 << 24));
  MOE_ASSIGN_OR_RETURN(int64_t n_experts, args.get_int("--n-experts", 0, 1024));
  MOE_ASSIGN_OR_RETURN(out.model, Model::load(path, *kernels));
  const ModelArgs& a = out.model->args();
  if (ctx == 0) ctx = a.context_length > 0 ? std::min<int64_t>(4096, a.context_length) : 4096;
  out.n_ctx = ctx;
  const int cores = physical_core_count();
  if (threads == 0) threads = cores;
  if (threads_batch == 0) threads_batch = cores;
  out.pool = std::make_unique<ThreadPool>(static_cast<int>(std::max(threads, threads_batch)));
  out.session.batch_size = static_cast<int>(batch);
  out.session.threads = static_cast<int>(threads);
  out.session.threads_batch = static_cast<int>(threads_batch);
  out.session.n_experts = static_cast<int>(n_experts);
  MOE_LOG_INFO("loaded %s: %lld layers, %lld experts (%lld used); kernels %s; %lld/%lld threads",
               path.c_str(), static_cast<long long>(a.n_layers), static_cast<long long>(a.n_routed_experts),
               static_cast<long long>(a.n_activated_experts), std::string(isa_name(kernels->isa)).c_str(),
               static_cast<long long>(threads), static_cast<long long>(threads_batch));
  return out;
}

}  // namespace moe::cli
