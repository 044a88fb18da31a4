#include "cli/model_options.h"

#include <algorithm>

#include "base/affinity.h"
#include "base/cpu_features.h"
#include "base/log.h"
#include "base/numa.h"

namespace moe::cli {

void add_model_options(std::vector<OptionSpec>& specs) {
  const std::vector<OptionSpec> shared = {
      {"--model", "-m", "FILE", "", "GGUF model file (or first part of a split set)"},
      {"--ctx-size", "-c", "N", "0", "context size in tokens (0: 4096 or the trained context if smaller)"},
      {"--threads", "-t", "N", "0", "decode threads (0: physical cores)"},
      {"--threads-batch", "-tb", "N", "0", "prefill threads (0: physical cores)"},
      {"--batch-size", "-b", "N", "512", "prefill batch size in tokens"},
      {"--cache-type", "", "TYPE", "f16", "latent KV cache type: f16, bf16 (read in place by AVX512-BF16 kernels; faster only where the CPU issues vdpbf16ps as fast as FMA) or q8_0"},
      {"--n-experts", "", "N", "0", "routed experts per token (0: the model's; fewer is faster)"},
      {"--isa", "", "NAME", "auto", "kernel set: auto, scalar, avx2, avx512"},
      {"--verbose", "-v", "", "", "log more"},
      {"--no-mmap", "", "", "", "read the weights into memory (parallel reads) instead of mapping the files"},
      {"--read-method", "", "HOW", "auto", "how --no-mmap fills 4 KiB pages: cow (copy pages from the page cache), pread, or auto (cow when the file is cached); huge pages are always read"},
      {"--mlock", "", "", "", "lock the weights in RAM (a failure is a warning)"},
      {"--hugepages", "", "MODE", "auto", "weights on huge pages: 1g, 2m, thp, off, or auto (thp with --no-mmap unless --read-method cow, else off); 1g, 2m and thp imply --no-mmap"},
      {"--warmup", "", "", "", "touch every weight page once before running"},
      {"--no-repack", "", "", "", "keep the file's weight layout (no load-time repacking for the kernels: with mmap, nothing is copied)"},
      {"--numa-node", "", "N", "-1", "bind threads and weight memory to NUMA node N (-1: no binding)"},
      {"--numa", "", "MODE", "off", "off, or experts: place each routed expert's weights on one node"},
  };
  specs.insert(specs.end(), shared.begin(), shared.end());
}

std::string model_path_arg(const Args& args) {
  const std::string path = args.get("--model");
  return path.empty() && !args.positionals().empty() ? args.positionals()[0] : path;
}

Result<LoadOptions> load_options_from_args(const Args& args, bool into_memory) {
  LoadOptions load;
  load.use_mmap = !into_memory && !args.flag("--no-mmap");
  load.mlock = args.flag("--mlock");
  load.warmup = args.flag("--warmup");
  load.repack = !args.flag("--no-repack");
  MOE_ASSIGN_OR_RETURN(load.read_method, parse_read_method(args.get("--read-method")));
  const std::string pages = args.get("--hugepages");
  if (pages == "auto") {
    // Memory the weights are read into gets transparent huge pages: a load from the page
    // cache faults once per 2 MiB instead of per 4 KiB, and decode walks fewer TLB entries
    // (docs/LOADING.md). A mapping of the files stays on the page cache's pages, and
    // --read-method cow needs 4 KiB pages (it copies a file mapping's pages).
    const bool thp = !load.use_mmap && load.read_method != ReadMethod::kCopyOnWrite &&
                     transparent_huge_pages_available();
    load.hugepages = thp ? PagePolicy::kThp : PagePolicy::kOff;
  } else {
    MOE_ASSIGN_OR_RETURN(load.hugepages, parse_page_policy(pages));
  }
  MOE_ASSIGN_OR_RETURN(int64_t node, args.get_int("--numa-node", -1, 1023));
  load.numa_node = static_cast<int>(node);
  const std::string numa = args.get("--numa");
  if (numa != "off" && numa != "experts") return Status::error("--numa: expected off or experts, found '" + numa + "'");
  load.numa_experts = numa == "experts";
  if (load.numa_experts && load.numa_node >= 0) return Status::error("--numa experts and --numa-node exclude each other");
  return load;
}

Result<LoadedModel> load_model_from_args(const Args& args, ProgressFn progress, bool thread_lists,
                                         const BeforeWeightsFn& before_weights) {
  if (args.flag("--verbose")) set_log_level(LogLevel::kDebug);
  const std::string path = model_path_arg(args);
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
  MOE_ASSIGN_OR_RETURN(std::vector<int64_t> threads_list, args.get_int_list("--threads", 0, 1024));
  MOE_ASSIGN_OR_RETURN(std::vector<int64_t> threads_batch_list, args.get_int_list("--threads-batch", 0, 1024));
  if (!thread_lists && (threads_list.size() > 1 || threads_batch_list.size() > 1)) {
    return Status::error("--threads and --threads-batch take one value here (lists are for bench)");
  }
  MOE_ASSIGN_OR_RETURN(int64_t batch, args.get_int("--batch-size", 1, 1 << 16));
  MOE_ASSIGN_OR_RETURN(int64_t ctx, args.get_int("--ctx-size", 0, 1 << 24));
  MOE_ASSIGN_OR_RETURN(int64_t n_experts, args.get_int("--n-experts", 0, 1024));
  MOE_ASSIGN_OR_RETURN(LoadOptions load, load_options_from_args(args));
  load.progress = std::move(progress);
  auto read_topo = read_numa_topology();
  if (!read_topo.is_ok()) MOE_LOG_WARN("NUMA topology unknown: %s", read_topo.status().message().c_str());
  const NumaTopology topo = read_topo.is_ok() ? std::move(read_topo).value() : NumaTopology{};
  MOE_LOG_DEBUG("topology: %s", topo.describe().c_str());
  if (load.numa_node >= 0 && topo.node(load.numa_node) == nullptr) {
    return Status::error("--numa-node " + std::to_string(load.numa_node) + ": no such node (" + topo.describe() + ")");
  }
  int cores = physical_core_count();
  if (load.numa_node >= 0) {
    int node_cores = 0;
    for (const CpuInfo& c : topo.cpus) node_cores += (c.node == load.numa_node && c.primary) ? 1 : 0;
    cores = std::max(1, node_cores);
  }
  for (std::vector<int64_t>* list : {&threads_list, &threads_batch_list}) {
    for (int64_t& t : *list) t = t == 0 ? cores : t;
  }
  const int64_t threads = threads_list[0], threads_batch = threads_batch_list[0];
  const int pool_threads = static_cast<int>(std::max(*std::max_element(threads_list.begin(), threads_list.end()),
                                                     *std::max_element(threads_batch_list.begin(), threads_batch_list.end())));
  // One thread per physical core first (decode), SMT siblings after (prefill, -tb).
  auto plan = plan_affinity(topo, pool_threads, {load.numa_node, allowed_cpus()});
  if (!plan.is_ok() && load.numa_node >= 0) return plan.status();
  if (!plan.is_ok()) MOE_LOG_WARN("threads not pinned: %s", plan.status().message().c_str());
  AffinityPlan affinity = plan.is_ok() ? std::move(plan).value() : AffinityPlan{};
  MOE_LOG_DEBUG("%s", affinity.describe().c_str());
  out.pool = std::make_unique<ThreadPool>(pool_threads, std::move(affinity));
  out.threads_list.assign(threads_list.begin(), threads_list.end());
  out.threads_batch_list.assign(threads_batch_list.begin(), threads_batch_list.end());
  if (before_weights) MOE_RETURN_IF_ERROR(before_weights(*out.pool, out.threads_list));

  MOE_ASSIGN_OR_RETURN(out.model, Model::load(path, *kernels, load));
  const ModelArgs& a = out.model->args();
  if (ctx == 0) ctx = a.context_length > 0 ? std::min<int64_t>(4096, a.context_length) : 4096;
  out.n_ctx = ctx;
  if (load.numa_experts) {
    const ExpertPlacement& placed = out.model->file().load_report().placement;
    std::string per_node;
    for (size_t k = 0; k < placed.node_bytes.size() && k < topo.nodes.size(); ++k) {
      per_node += " node" + std::to_string(topo.nodes[k].id) + " " + format_bytes(placed.node_bytes[k]);
    }
    MOE_LOG_INFO("--numa experts: %zu experts placed:%s", placed.node_of.size(), per_node.c_str());
    // The MoE runs each expert on its node's threads only when the threads span the nodes.
    const std::vector<int>& tn = out.pool->affinity().nodes;
    const size_t decode = std::min(tn.size(), static_cast<size_t>(threads));
    if (decode == 0 || std::count(tn.begin(), tn.begin() + decode, tn[0]) == static_cast<std::ptrdiff_t>(decode)) {
      MOE_LOG_WARN("--numa experts: the %lld decode threads are on one node: experts run on any thread",
                   static_cast<long long>(threads));
    }
  }
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
