// Options shared by every command that loads a model and runs it (run, chat, bench, serve).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "cli/args.h"
#include "engine/session.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe::cli {

// The model path: -m FILE, else the first positional argument; "" when neither is given.
std::string model_path_arg(const Args& args);

// Appends the shared option specs (-m, -c, -t, -tb, -b, --cache-type, --n-experts, --isa).
void add_model_options(std::vector<OptionSpec>& specs);

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<ThreadPool> pool;
  SessionConfig session;
  int64_t n_ctx = 0;
  KvCacheType cache_type = KvCacheType::kF16;
  // Every -t and -tb value, 0 resolved to the physical cores (one each unless the command
  // takes lists); `session` has the first of each, and the pool threads for the largest.
  std::vector<int> threads_list, threads_batch_list;
};

// Runs on the thread pool and the resolved -t values before the weights load (bench's
// bandwidth probe: its buffer then finds the memory free, as the weights did).
using BeforeWeightsFn =
    std::function<Status(ThreadPool& pool, const std::vector<int>& threads_list)>;

// Reads the shared options, picks the kernels, makes the thread pool (threads pinned one
// per physical core first), calls `before_weights` if given, and loads the model. `progress`
// gets (bytes done, total) while the weights are read or warmed up (the server's /health).
// `thread_lists`: -t and -tb may be lists ("1,2,4": bench); otherwise one value each.
Result<LoadedModel> load_model_from_args(const Args& args, ProgressFn progress = {},
                                         bool thread_lists = false,
                                         const BeforeWeightsFn& before_weights = {});

// The loading options (--no-mmap, --mlock, --hugepages, --warmup, --numa-node, --numa).
// `into_memory`: read the weights into memory whether or not --no-mmap was given.
Result<LoadOptions> load_options_from_args(const Args& args, bool into_memory = false);

}  // namespace moe::cli
