// Loading policies (gguf/load.h): --no-mmap, --hugepages (with fallback), --mlock and
// --warmup give exactly the bytes mmap gives, for a fixture and for a split set; the
// parallel reader is byte-exact for any chunking; --numa experts finds every expert.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <iterator>
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

// A random file whose size is not a whole number of pages, and its bytes.
std::vector<uint8_t> write_blob(const std::string& path, size_t size) {
  std::vector<uint8_t> bytes(size);
  std::mt19937 rng(11);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return bytes;
}

std::vector<uint8_t> read_whole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

TEST(GgufLoad, CopyOnWriteGivesThePrivateBytesOfTheFile) {
  TempDir dir;
  const std::string path = dir.file("blob");
  const std::vector<uint8_t> bytes = write_blob(path, 5 * 1000 * 1000 + 123);
  for (int threads : {1, 3}) {
    LoadOptions o;
    o.use_mmap = false;
    o.read_method = ReadMethod::kCopyOnWrite;
    o.io_threads = threads;
    o.chunk_bytes = 1 << 20;  // several tasks per thread, the last one partial
    ProgressBar bar("t", bytes.size(), {}, false);
    auto buf = FileBuffer::read(path, quiet(o), &bar);
    ASSERT_TRUE(buf.is_ok()) << buf.status().message();
    EXPECT_EQ(buf->method(), ReadMethod::kCopyOnWrite);
    EXPECT_TRUE(buf->in_memory());
    ASSERT_EQ(buf->size(), bytes.size());
    EXPECT_EQ(std::memcmp(buf->data(), bytes.data(), bytes.size()), 0) << threads;
    EXPECT_EQ(bar.done(), bytes.size());
    // The copy is ours: writing it (as repacking in place does) leaves the file alone.
    uint8_t* w = const_cast<uint8_t*>(buf->data());
    for (size_t i = 0; i < bytes.size(); i += 4096) w[i] ^= 0xff;
    EXPECT_EQ(read_whole(path), bytes);
    EXPECT_EQ(w[4096], static_cast<uint8_t>(bytes[4096] ^ 0xff));
  }
}

TEST(GgufLoad, CopyOnWriteModelIsByteIdenticalToMmap) {
  const std::string path = model_path("r1-mini-q8_0.gguf");
  auto mapped = GgufModel::open(path);
  ASSERT_TRUE(mapped.is_ok()) << mapped.status().message();
  LoadOptions o;
  o.use_mmap = false;
  o.read_method = ReadMethod::kCopyOnWrite;
  auto copied = GgufModel::open(path, {}, quiet(o));
  ASSERT_TRUE(copied.is_ok()) << copied.status().message();
  const LoadReport& r = copied->load_report();
  EXPECT_EQ(r.parts_copied, 1);
  EXPECT_EQ(r.parts_read, 0);
  EXPECT_NE(r.describe().find("copy-on-write from the page cache"), std::string::npos) << r.describe();
  expect_same_model(*mapped, *copied);
  o.read_method = ReadMethod::kPread;
  auto read = GgufModel::open(path, {}, quiet(o));
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  EXPECT_EQ(read->load_report().parts_read, 1);
  EXPECT_NE(read->load_report().describe().find("(pread)"), std::string::npos) << read->load_report().describe();
}

TEST(GgufLoad, AutoCopiesFromAWarmPageCache) {
  TempDir dir;
  const std::string path = dir.file("blob");
  const std::vector<uint8_t> bytes = write_blob(path, 3 * 1000 * 1000 + 5);
  ASSERT_EQ(read_whole(path), bytes);  // now in the page cache
  auto mapped = FileBuffer::map(path);
  ASSERT_TRUE(mapped.is_ok());
  EXPECT_GE(page_cache_fraction(mapped->data(), mapped->size()), 0.9);
  LoadOptions o;
  o.use_mmap = false;
  auto buf = FileBuffer::read(path, quiet(o), nullptr);
  ASSERT_TRUE(buf.is_ok()) << buf.status().message();
  EXPECT_EQ(buf->method(), ReadMethod::kCopyOnWrite);
  EXPECT_EQ(std::memcmp(buf->data(), bytes.data(), bytes.size()), 0);
  // Huge pages cannot come from a file mapping: those are always read.
  o.hugepages = PagePolicy::kThp;
  o.read_method = ReadMethod::kCopyOnWrite;
  auto huge = FileBuffer::read(path, quiet(o), nullptr);
  ASSERT_TRUE(huge.is_ok()) << huge.status().message();
  EXPECT_EQ(huge->method(), ReadMethod::kPread);
  EXPECT_EQ(std::memcmp(huge->data(), bytes.data(), bytes.size()), 0);
}

TEST(GgufLoad, ReadMethodChoice) {
  EXPECT_EQ(choose_read_method(ReadMethod::kAuto, PagePolicy::kOff, 1.0), ReadMethod::kCopyOnWrite);
  EXPECT_EQ(choose_read_method(ReadMethod::kAuto, PagePolicy::kOff, 0.9), ReadMethod::kCopyOnWrite);
  EXPECT_EQ(choose_read_method(ReadMethod::kAuto, PagePolicy::kOff, 0.5), ReadMethod::kPread);
  EXPECT_EQ(choose_read_method(ReadMethod::kAuto, PagePolicy::kOff, 0.0), ReadMethod::kPread);
  EXPECT_EQ(choose_read_method(ReadMethod::kCopyOnWrite, PagePolicy::kOff, 0.0), ReadMethod::kCopyOnWrite);
  EXPECT_EQ(choose_read_method(ReadMethod::kPread, PagePolicy::kOff, 1.0), ReadMethod::kPread);
  for (PagePolicy p : {PagePolicy::kThp, PagePolicy::k2M, PagePolicy::k1G}) {
    EXPECT_EQ(choose_read_method(ReadMethod::kCopyOnWrite, p, 1.0), ReadMethod::kPread);
    EXPECT_EQ(choose_read_method(ReadMethod::kAuto, p, 1.0), ReadMethod::kPread);
  }
  for (const char* name : {"auto", "pread", "cow"}) {
    auto m = parse_read_method(name);
    ASSERT_TRUE(m.is_ok()) << name;
    EXPECT_EQ(read_method_name(*m), name);
  }
  auto bad = parse_read_method("mmap");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("--read-method"), std::string::npos);
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
