#include "model/pack_weights.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/format.h"
#include "base/timer.h"

namespace moe {
namespace {

// A matrix the forward pass only ever multiplies (never reads row by row). `tail_ok`: its
// products all go through matmul(), which handles a tail of rows left in the source layout;
// the expert and per-head products (ffn_jobs, mla) call packed gemms on whole groups only.
struct Multiplied {
  TensorView* view;
  bool tail_ok;
  bool routed = false;  // a routed-expert tensor: the bulk of the file
};

std::vector<Multiplied> multiplied_views(ModelWeights& w) {
  std::vector<Multiplied> v;
  for (LayerWeights& l : w.layers) {
    for (TensorView* t : {&l.attn.wq_a, &l.attn.wq_b, &l.attn.wq, &l.attn.wkv_a, &l.attn.wk_b,
                          &l.attn.wv_b, &l.attn.wo, &l.ffn.w1, &l.ffn.w2, &l.ffn.w3,
                          &l.moe.shared.w1, &l.moe.shared.w2, &l.moe.shared.w3}) {
      v.push_back({t, false});
    }
    for (TensorView* t : {&l.moe.w1, &l.moe.w2, &l.moe.w3}) v.push_back({t, false, true});
  }
  // Tied embeddings: the output view is the embedding table, which is read row by row.
  if (w.output.data != w.token_embd.data) v.push_back({&w.output, true});
  return v;
}

// A conversion into a packed layout of another row size (Q5_0 -> Q8_0_R16), rather than a
// rearrangement of the same bytes.
bool converts(const TensorView& t, const PackedLayout& layout) {
  return row_bytes(layout.packed, t.cols()) != row_bytes(t.type, t.cols());
}

// Rows stored back to back (no strided views) of whole blocks, in whole groups or (a 2-D
// matrix whose products handle it, not converted) at least one group and a tail left in the
// source layout.
bool packable(const TensorView& t, const PackedLayout& layout, bool tail_ok) {
  if (t.empty() || layout.repack == nullptr) return false;
  const int64_t block = type_traits(t.type).block_size;
  if (t.cols() % block != 0 || t.cols() % type_traits(layout.packed).block_size != 0) return false;
  const bool dense_rows = t.row_stride == row_bytes(t.type, t.cols());
  const bool dense_matrices = t.ne[2] == 1 || t.matrix_stride == t.row_stride * static_cast<size_t>(t.rows());
  const bool whole_groups = t.rows() % layout.group_rows == 0 ||
                            (tail_ok && t.ne[2] == 1 && t.rows() >= layout.group_rows && !converts(t, layout));
  return dense_rows && dense_matrices && whole_groups;
}

struct PackJob {
  TensorView* view;
  PackedLayout layout;
  uint8_t* dst;
  int64_t rows;  // repacked rows, all matrices (whole groups)
  int64_t tail;  // rows after them left in the source layout (2-D only)
  size_t dst_row_bytes;  // the packed layout's row size (the source's unless converting)
  bool copy;             // into new memory (mmap, or a conversion), else in place
  size_t bytes() const { return view->row_stride * static_cast<size_t>(rows + tail); }
  size_t dst_bytes() const { return dst_row_bytes * static_cast<size_t>(rows + tail); }
};

// A run of whole groups of one job: the unit threads take.
struct Chunk {
  size_t job;
  int64_t row0, rows;
};

}  // namespace

std::string PackReport::describe() const {
  char buf[512];
  const std::string where =
      in_place
          ? "in place"
          : "into anonymous memory" + (copies_memory.empty() ? "" : " (" + copies_memory + ")");
  int n = std::snprintf(buf, sizeof buf, "packed %d tensors, %s, %s, %.1f s", tensors,
                        format_bytes(bytes).c_str(), where.c_str(), seconds);
  if (kept_tensors > 0 && n > 0 && static_cast<size_t>(n) < sizeof buf) {
    std::snprintf(
        buf + n, sizeof buf - static_cast<size_t>(n),
        "; %d routed-expert tensors, %s, kept in the file's layout: converting them would add %s, "
        "past the memory limit",
        kept_tensors, format_bytes(kept_bytes).c_str(), format_bytes(kept_growth).c_str());
  }
  return buf;
}

Result<PackReport> pack_weights(ModelWeights& w, const KernelTable& k, bool in_place, int n_threads,
                                uint64_t loaded_bytes, uint64_t memory_limit) {
  const Timer timer;
  PackReport report;
  report.in_place = in_place;
  std::vector<PackJob> jobs;
  std::vector<TensorView*> aliases;  // a second view of bytes already in a job
  std::unordered_set<const uint8_t*> seen;
  const std::vector<Multiplied> views = multiplied_views(w);
  // The routed experts' conversions, in layer order while the weights fit (pack_weights.h):
  // each adds its converted bytes, less its file bytes where those are page cache (mmap).
  uint64_t resident = loaded_bytes;
  for (const auto& [t, tail_ok, routed] : views) {
    const PackedLayout& layout = k.packing[static_cast<uint32_t>(t->type)];
    if (!packable(*t, layout, tail_ok)) continue;
    if (routed && converts(*t, layout)) {
      const auto rows = static_cast<uint64_t>(t->rows() * t->ne[2]);
      const uint64_t file = t->row_stride * rows, converted = row_bytes(layout.packed, t->cols()) * rows;
      const uint64_t grown = resident + converted - (in_place ? 0 : std::min(resident, file));
      if (memory_limit != 0 && grown > memory_limit) {
        ++report.kept_tensors;
        report.kept_bytes += file;
        report.kept_growth += converted - file;
        continue;
      }
      resident = grown;
    }
    if (!seen.insert(t->data).second) {
      aliases.push_back(t);
      continue;
    }
    const int64_t tail = t->rows() % layout.group_rows;  // 0 unless a 2-D matrix
    const size_t dst_row_bytes = row_bytes(layout.packed, t->cols());
    jobs.push_back({t, layout, nullptr, t->rows() * t->ne[2] - tail, tail, dst_row_bytes,
                    !in_place || dst_row_bytes != t->row_stride});
    report.bytes += jobs.back().bytes();
  }
  // Views that share bytes with a job see the packed bytes too (in place, the old layout
  // is gone), so they must have the job's shape.
  for (TensorView* alias : aliases) {
    for (const PackJob& job : jobs) {
      if (job.view->data != alias->data) continue;
      if (alias->cols() != job.view->cols() || alias->rows() != job.view->rows() || alias->ne[2] != job.view->ne[2]) {
        return Status::error("pack_weights: two differently shaped views of the same weights");
      }
    }
  }
  if (jobs.empty()) return report;

  size_t copy_bytes = 0;
  for (const PackJob& job : jobs) copy_bytes += job.copy ? job.dst_bytes() : 0;
  if (copy_bytes > 0) {
    MOE_ASSIGN_OR_RETURN(w.packed, MemoryRegion::allocate(copy_bytes, PagePolicy::kThp));
  }
  uint8_t* next = w.packed.data();
  std::vector<Chunk> chunks;
  constexpr uint64_t kChunkBytes = 4u << 20;
  for (size_t j = 0; j < jobs.size(); ++j) {
    PackJob& job = jobs[j];
    const size_t group_bytes = job.view->row_stride * static_cast<size_t>(job.layout.group_rows);
    if (!job.copy) {
      job.dst = const_cast<uint8_t*>(job.view->data);  // anonymous memory only the views use
    } else {
      job.dst = next;
      next += job.dst_bytes();
      // The tail rows keep the source layout at the same offsets: copy them as they are.
      const size_t packed_bytes = job.view->row_stride * static_cast<size_t>(job.rows);
      std::memcpy(job.dst + packed_bytes, job.view->data + packed_bytes, job.bytes() - packed_bytes);
    }
    const int64_t groups_per_chunk = std::max<int64_t>(1, static_cast<int64_t>(kChunkBytes / group_bytes));
    for (int64_t r = 0; r < job.rows; r += groups_per_chunk * job.layout.group_rows) {
      chunks.push_back({j, r, std::min<int64_t>(job.rows - r, groups_per_chunk * job.layout.group_rows)});
    }
  }

  std::atomic<size_t> next_chunk{0};
  const auto worker = [&] {
    std::vector<uint8_t> scratch;
    for (size_t c = next_chunk++; c < chunks.size(); c = next_chunk++) {
      const PackJob& job = jobs[chunks[c].job];
      const size_t offset = job.view->row_stride * static_cast<size_t>(chunks[c].row0);
      const size_t bytes = job.view->row_stride * static_cast<size_t>(chunks[c].rows);
      const uint8_t* src = job.view->data + offset;
      if (!job.copy) {  // repack reads and writes different buffers
        scratch.assign(src, src + bytes);
        src = scratch.data();
      }
      job.layout.repack(src, chunks[c].rows, job.view->cols(),
                        job.dst + job.dst_row_bytes * static_cast<size_t>(chunks[c].row0));
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, n_threads); ++i) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();

  for (const PackJob& job : jobs) {
    if (job.copy) w.replaced.push_back(job.view->data);
    const auto switch_view = [&job](TensorView* v) {
      v->type = job.layout.packed;
      v->data = job.dst;
      v->tail_rows = job.tail;
      v->row_stride = job.dst_row_bytes;
      if (v->ne[2] > 1) v->matrix_stride = job.dst_row_bytes * static_cast<size_t>(v->rows());
    };
    for (TensorView* alias : aliases) {
      if (alias->data == job.view->data) switch_view(alias);
    }
    switch_view(job.view);
  }
  report.tensors = static_cast<int>(jobs.size());
  report.seconds = timer.seconds();
  if (copy_bytes > 0) report.copies_memory = w.packed.describe();
  return report;
}

}  // namespace moe
