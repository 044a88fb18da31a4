// `moeinfer bench --load -m MODEL [--no-mmap | --hugepages ...] [--read-method ...] [-r 5] [--cold]`:
// how fast loading fills memory, against what the source delivers to a `cat`-style reader
// (one thread, 128 KiB read() calls into one reused buffer) measured in the same run.
#pragma once

#include "cli/args.h"

namespace moe::cli {

int bench_load(const Args& args);

}  // namespace moe::cli
