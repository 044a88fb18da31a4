// Loading policies (gguf/load.h): --no-mmap, --hugepages (with fallback), --mlock and
// --warmup give exactly the bytes mmap gives, for a fixture and for a split set; the
// parallel reader is byte-exact for any chunking; --numa experts finds every expert.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>

#include "gguf/load.h"
#include "gguf_test_util.h"

namespace moe::gguf_test {
namespace {

LoadOptions quiet(LoadOptions o) {
  o.show_progress = false;
  return o;
}

// Every tensor's bytes and every metadata value of `b` equal `a`'s; the data pointers of
// an in-memory load are not into the file mapping (which is gone).
void expect_same_model(const GgufModel& a, const GgufModel& b) {
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const TensorInfo& t : a.tensors()) {
    const TensorInfo* u = b.find_tensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    ASSERT_EQ(u->n_bytes, t.n_bytes) << t.name;
    ASSERT_EQ(std::memcmp(u->data, t.data, t.n_bytes), 0) << t.name;
    EXPECT_EQ(u->file_index, t.file_index);
  }
  ASSERT_EQ(a.metadata().entries().size(), b.metadata().entries().size());
  auto arch = b.metadata().get_string("general.architecture");
  ASSERT_TRUE(arch.is_ok());
  EXPECT_EQ(*arch.value(), *a.metadata().get_string("general.architecture").value());
  EXPECT_EQ(a.file_bytes(), b.file_bytes());
}

TEST(GgufLoad, NoMmapIsByteIdenticalToMmap) {
  const std::string path = model_path("r1-mini-q8_0.gguf");
  auto mapped = GgufModel::open(path);
  ASSERT_TRUE(mapped.is_ok()) << mapped.status().message();
  EXPECT_FALSE(mapped->load_report().in_memory);
  LoadOptions o;
  o.use_mmap = false;
  o.io_threads = 3;
  o.chunk_bytes = 1 << 20;  // several chunks per thread
  auto read = GgufModel::open(path, {}, quiet(o));
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const LoadReport& r = read->load_report();
  EXPECT_TRUE(r.in_memory);
  EXPECT_EQ(r.bytes, mapped->file_bytes());
  EXPECT_GT(r.read_seconds, 0.0);
  EXPECT_NE(r.describe().find("GB/s"), std::string::npos) << r.describe();
  expect_same_model(*mapped, *read);
}

TEST(GgufLoad, SplitSetNoMmapHugepagesWarmup) {
  TempDir dir;
  const std::string src = model_path("r1-mini-q8_0.gguf");
  ASSERT_TRUE(split_gguf(src, dir.file("r1"), 3).is_ok());
  auto mapped = GgufModel::open(dir.file("r1-00001-of-00003.gguf"));
  ASSERT_TRUE(mapped.is_ok()) << mapped.status().message();
  for (PagePolicy p : {PagePolicy::kOff, PagePolicy::kThp, PagePolicy::k2M}) {
    LoadOptions o;
    o.use_mmap = false;
    o.hugepages = p;
    o.warmup = true;
    auto read = GgufModel::open(dir.file("r1-00002-of-00003.gguf"), {}, quiet(o));
    ASSERT_TRUE(read.is_ok()) << read.status().message();
    EXPECT_EQ(read->files().size(), 3u);
    EXPECT_GT(read->load_report().warmup_seconds, 0.0);
    expect_same_model(*mapped, *read);
  }
}

TEST(GgufLoad, OneGigPagesFallBackAndSayWhatTheyGot) {
  const std::string path = model_path("r1-mini-q8_0.gguf");
  auto mapped = GgufModel::open(path);
  ASSERT_TRUE(mapped.is_ok());
  LoadOptions o;
  o.hugepages = PagePolicy::k1G;  // implies reading into memory
  auto read = GgufModel::open(path, {}, quiet(o));
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const LoadReport& r = read->load_report();
  EXPECT_TRUE(r.in_memory);
  EXPECT_EQ(r.requested, PagePolicy::k1G);
  if (free_hugetlb_pages(PagePolicy::k1G) == 0) {
    EXPECT_NE(r.obtained, PagePolicy::k1G);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.front().find("asked for 1 GiB hugetlb pages, got"), std::string::npos) << r.warnings.front();
    EXPECT_NE(r.warnings.front().find("HugePages_Total"), std::string::npos);
  }
  EXPECT_NE(r.describe().find(std::string("got ") + std::string(page_policy_name(r.obtained))), std::string::npos)
      << r.describe();
  if (r.obtained == PagePolicy::k2M) {
    EXPECT_EQ(r.huge_bytes, r.bytes);
  }
  if (r.obtained == PagePolicy::kOff) {
    EXPECT_EQ(r.huge_bytes, 0u);
  }
  expect_same_model(*mapped, *read);
}

TEST(GgufLoad, MlockFailureIsAWarningNotAnError) {
  const std::string path = model_path("r1-mini-q8_0.gguf");
  for (bool use_mmap : {true, false}) {
    LoadOptions o;
    o.use_mmap = use_mmap;
    o.mlock = true;
    auto m = GgufModel::open(path, {}, quiet(o));
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    const LoadReport& r = m->load_report();
    // Locked (root, or a high RLIMIT_MEMLOCK) or not, with the reason in a warning.
    if (!r.locked) {
      ASSERT_FALSE(r.warnings.empty());
      EXPECT_NE(r.warnings.back().find("RLIMIT_MEMLOCK"), std::string::npos) << r.warnings.back();
    }
  }
}

TEST(GgufLoad, ProgressCallbackSeesEveryByte) {
  const std::string path = model_path("r1-mini-q8_0.gguf");
  std::atomic<uint64_t> last{0}, total{0};
  LoadOptions o;
  o.use_mmap = false;
  o.progress = [&](uint64_t d, uint64_t t) {
    last = d;
    total = t;
  };
  auto m = GgufModel::open(path, {}, quiet(o));
  ASSERT_TRUE(m.is_ok());
  EXPECT_EQ(total.load(), m->file_bytes());
  EXPECT_EQ(last.load(), m->file_bytes());
}

TEST(GgufLoad, ReadParallelAnyChunking) {
  TempDir dir;
  std::vector<uint8_t> bytes(3 * 1000 * 1000 + 17);
  std::mt19937 rng(7);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  const std::string path = dir.file("blob");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  for (int threads : {1, 2, 7}) {
    for (uint64_t chunk : {4096ull, 65536ull + 4096, 1ull << 20, 64ull << 20}) {
      std::vector<uint8_t> out(bytes.size(), 0);
      ProgressBar bar("t", bytes.size(), {}, false);
      ASSERT_TRUE(read_parallel(fd, path, out.data(), out.size(), threads, chunk, &bar).is_ok());
      EXPECT_EQ(out, bytes) << threads << " threads, chunk " << chunk;
      EXPECT_EQ(bar.done(), bytes.size());
    }
  }
  // Asking for more than the file holds names the file and the offset.
  std::vector<uint8_t> out(bytes.size() + 10);
  Status s = read_parallel(fd, path, out.data(), out.size(), 2, 1 << 20, nullptr);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("blob"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("end of file"), std::string::npos) << s.message();
  ::close(fd);
}

TEST(GgufLoad, MissingFileIsAnError) {
  TempDir dir;
  LoadOptions o;
  o.use_mmap = false;
  auto m = GgufModel::open(dir.file("nope.gguf"), {}, quiet(o));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("nope.gguf"), std::string::npos);
}

TEST(GgufLoad, ExpertRefsCoverEveryRoutedExpert) {
  auto m = GgufModel::open(model_path("r1-mini-q8_0.gguf"));
  ASSERT_TRUE(m.is_ok());
  const std::vector<ExpertRef> experts = expert_refs(*m);
  // r1-mini: 3 layers, the first dense: 2 MoE layers of 16 experts.
  ASSERT_EQ(experts.size(), 32u);
  uint64_t total = 0;
  for (const ExpertRef& e : experts) total += e.bytes;
  uint64_t exps_bytes = 0;
  for (const TensorInfo& t : m->tensors()) {
    if (t.name.find("_exps.weight") != std::string::npos) exps_bytes += t.n_bytes;
  }
  EXPECT_EQ(total, exps_bytes);
  // A simulated two-node placement: half the experts of each layer on each node.
  LoadReport report;
  auto placed = place_model_experts(*m, simulated_topology(2, 1, 1, 0), false, &report);
  ASSERT_TRUE(placed.is_ok());
  EXPECT_EQ(placed->node_bytes[0], placed->node_bytes[1]);
}

TEST(GgufLoad, NumaExpertsOnThisMachine) {
  LoadOptions o;
  o.use_mmap = false;
  o.numa_experts = true;
  auto m = GgufModel::open(model_path("r1-mini-q8_0.gguf"), {}, quiet(o));
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->load_report().placement.node_of.size(), 32u);
}

}  // namespace
}  // namespace moe::gguf_test
