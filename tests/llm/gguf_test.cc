// GGUF reader against files written by the `gguf` Python package (tests/llm/make_gguf.py,
// run at test time into the test's working directory) and against corrupt bytes.
#include "llm/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "llm/quant.h"

namespace lucid::llm {
namespace {

std::string SourceDir() {
  const char* s = std::getenv("LUCID_SOURCE_DIR");
  return s ? s : LUCID_SOURCE_DIR;
}

// Generates the files once per process; returns the directory.
const std::string& TestDir() {
  static const std::string dir = [] {
    std::string out = "gguf_testdata";
    std::string py = SourceDir() + "/.venv/bin/python";
    if (const char* p = std::getenv("LUCID_PYTHON")) py = p;
    std::string cmd = py + " " + SourceDir() + "/tests/llm/make_gguf.py " + out;
    int rc = std::system(cmd.c_str());
    if (rc != 0) ADD_FAILURE() << "generator failed (" << rc << "): " << cmd << " (scripts/setup installs gguf)";
    return out;
  }();
  return dir;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST(Gguf, MetadataOfEveryType) {
  auto f = GgufFile::Open(TestDir() + "/types.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.data_offset() % 32, 0u);
  EXPECT_EQ(*g.GetString("general.architecture"), "llama");
  EXPECT_EQ(*g.GetU32("llama.context_length"), 8192u);
  EXPECT_EQ(*g.GetU32("t.u8"), 200u);
  EXPECT_EQ(*g.GetI32("t.i8"), -100);
  EXPECT_EQ(*g.GetU32("t.u16"), 60000u);
  EXPECT_EQ(*g.GetI32("t.i16"), -30000);
  EXPECT_EQ(*g.GetU32("t.u32"), 4000000000u);
  EXPECT_EQ(*g.GetI32("t.i32"), -2000000000);
  EXPECT_EQ(*g.GetU64("t.u64"), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(g.Find("t.i64")->i, -(int64_t{1} << 62));
  EXPECT_EQ(*g.GetF32("t.f32"), 0.15625f);
  EXPECT_EQ(g.Find("t.f64")->f, 1e300);
  EXPECT_EQ(*g.GetBool("t.bool"), true);
  EXPECT_EQ(*g.GetString("t.str"), "h\xc3\xa9llo");
  EXPECT_EQ(*g.GetIntArray("t.arr_i32"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(*g.GetF32Array("t.arr_f32"), (std::vector<float>{0.5f, -1.25f}));
  auto strs = g.GetStringArray("t.arr_str");
  ASSERT_TRUE(strs.ok());
  EXPECT_EQ(*strs, (std::vector<std::string_view>{"a", "", "ccc"}));
  // Wrong types and ranges are named errors.
  EXPECT_EQ(g.GetU32("t.i8").status().code(), Code::kOutOfRange);
  EXPECT_EQ(g.GetI32("t.u32").status().code(), Code::kOutOfRange);
  EXPECT_EQ(g.GetString("t.u8").status().code(), Code::kInvalidArgument);
  EXPECT_NE(g.GetString("t.u8").status().message().find("t.u8"), std::string::npos);
  EXPECT_EQ(g.GetU32("no.such").status().code(), Code::kNotFound);
  EXPECT_EQ(g.GetF32("t.f64").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(g.GetStringArray("t.arr_i32").status().code(), Code::kInvalidArgument);
}

// Every type's dequantized values equal gguf.quants.dequantize's, bit for bit.
TEST(Gguf, EveryTypeDequantizesLikeTheReference) {
  auto f = GgufFile::Open(TestDir() + "/types.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (const char* name : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K"}) {
    SCOPED_TRACE(name);
    const GgufTensor* w = (*f)->FindTensor(std::string("w.") + name);
    const GgufTensor* ref = (*f)->FindTensor(std::string("ref.") + name);
    ASSERT_TRUE(w && ref);
    EXPECT_EQ(TypeName(w->type), name);
    ASSERT_EQ(w->dims, (std::vector<int64_t>{512, 3}));
    EXPECT_EQ(ref->type, GgmlType::kF32);
    auto m = (*f)->Matrix(std::string("w.") + name);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->rows, 3);
    EXPECT_EQ(m->cols, 512);
    std::vector<float> got(512);
    for (int r = 0; r < 3; ++r) {
      DequantizeRow(w->type, w->data + r * w->RowBytes(), got.data(), 512);
      const float* want = reinterpret_cast<const float*>(ref->data) + r * 512;
      int bad = 0;
      for (int i = 0; i < 512; ++i)
        if (std::memcmp(&got[i], &want[i], 4) != 0 && bad++ < 3)
          ADD_FAILURE() << "row " << r << " [" << i << "]: " << got[i] << " != " << want[i];
      EXPECT_EQ(bad, 0);
    }
  }
}

TEST(Gguf, Version2AndMatrixOfMissingTensor) {
  std::vector<uint8_t> bytes = ReadAll(TestDir() + "/types.gguf");
  ASSERT_GT(bytes.size(), 100u);
  bytes[4] = 2;  // v2 has v3's layout (v3 added big-endian files)
  auto f = GgufFile::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->version(), 2u);
  EXPECT_EQ((*f)->Matrix("nope").status().code(), Code::kNotFound);
  bytes[4] = 1;
  auto v1 = GgufFile::Parse(bytes.data(), bytes.size());
  EXPECT_EQ(v1.status().code(), Code::kUnimplemented);
  EXPECT_NE(v1.status().message().find("version 1"), std::string::npos);
}

// Every prefix of a valid file is refused with an error (never a crash), and the error
// names what is cut.
TEST(Gguf, TruncatedFilesAreRefused) {
  std::vector<uint8_t> bytes = ReadAll(TestDir() + "/types.gguf");
  ASSERT_GT(bytes.size(), 100u);
  for (size_t n = 0; n < bytes.size(); n += (n < 2000 ? 1 : 97)) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    auto f = GgufFile::Parse(cut.data(), cut.size());
    ASSERT_FALSE(f.ok()) << n;
    EXPECT_EQ(f.status().code(), Code::kDataLoss) << n << " " << f.status().ToString();
  }
  auto last = GgufFile::Parse(bytes.data(), bytes.size() - 1);
  ASSERT_FALSE(last.ok());
  EXPECT_NE(last.status().message().find("tensor 'ref.Q6_K'"), std::string::npos) << last.status().ToString();
  EXPECT_NE(last.status().message().find("past the end"), std::string::npos);
}

// A hand-built GGUF: header, one KV, tensors.
struct Builder {
  std::vector<uint8_t> b;
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void Str(std::string_view s) {
    U64(s.size());
    Raw(s.data(), s.size());
  }
  void Raw(const void* p, size_t n) {
    const uint8_t* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
  }
  void Header(uint64_t tensors, uint64_t kvs) {
    U32(0x46554747u);
    U32(3);
    U64(tensors);
    U64(kvs);
  }
};

Status ParseStatus(const Builder& x) { return GgufFile::Parse(x.b.data(), x.b.size()).status(); }

TEST(Gguf, CorruptFilesGiveNamedErrors) {
  {
    Builder x;
    x.Header(0, 0);
    x.b[0] = 'X';
    EXPECT_NE(ParseStatus(x).message().find("magic"), std::string::npos);
  }
  {
    Builder x;
    x.Header(0, 1);
    x.Str("k.nested");
    x.U32(9);
    x.U32(9);  // array of arrays
    x.U64(1);
    x.U32(4);
    x.U64(1);
    x.U32(7);
    Status s = ParseStatus(x);
    EXPECT_EQ(s.code(), Code::kUnimplemented);
    EXPECT_NE(s.message().find("'k.nested': nested arrays"), std::string::npos) << s.ToString();
  }
  {
    Builder x;
    x.Header(0, 1);
    x.Str("k.huge");
    x.U32(8);
    x.U64(~uint64_t{0});  // string length 2^64-1
    Status s = ParseStatus(x);
    EXPECT_EQ(s.code(), Code::kDataLoss);
    EXPECT_NE(s.message().find("'k.huge'"), std::string::npos) << s.ToString();
  }
  {
    Builder x;
    x.Header(0, 1);
    x.Str("k.arr");
    x.U32(9);
    x.U32(12);
    x.U64(uint64_t{1} << 61);  // count·8 overflows
    Status s = ParseStatus(x);
    EXPECT_NE(s.message().find("'k.arr': array count"), std::string::npos) << s.ToString();
  }
  {
    Builder x;
    x.Header(uint64_t{1} << 62, 0);
    EXPECT_NE(ParseStatus(x).message().find("tensor_count"), std::string::npos);
  }
  {
    Builder x;
    x.Header(0, 1);
    x.Str("k");
    x.U32(13);
    EXPECT_NE(ParseStatus(x).message().find("unknown value type 13"), std::string::npos);
  }
  auto tensor = [](uint32_t type, std::vector<uint64_t> dims, uint64_t offset, uint32_t align, size_t data) {
    Builder x;
    x.Header(1, 1);
    x.Str("general.alignment");
    x.U32(4);
    x.U32(align);
    x.Str("t0");
    x.U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) x.U64(d);
    x.U32(type);
    x.U64(offset);
    while (x.b.size() % (align ? align : 1)) x.b.push_back(0);
    x.b.resize(x.b.size() + data);
    return x;
  };
  EXPECT_TRUE(ParseStatus(tensor(8, {64, 2}, 0, 32, 136)).ok()) << ParseStatus(tensor(8, {64, 2}, 0, 32, 136)).ToString();
  EXPECT_NE(ParseStatus(tensor(8, {64, 2}, 0, 32, 135)).message().find("tensor 't0': data"), std::string::npos);
  EXPECT_NE(ParseStatus(tensor(8, {48, 2}, 0, 32, 200)).message().find("block size 32"), std::string::npos);
  EXPECT_NE(ParseStatus(tensor(8, {64, 2}, 16, 32, 300)).message().find("alignment"), std::string::npos);
  EXPECT_NE(ParseStatus(tensor(8, {64, 2}, 0, 24, 300)).message().find("general.alignment"), std::string::npos);
  EXPECT_NE(ParseStatus(tensor(99, {64}, 0, 32, 300)).message().find("unknown tensor type 99"), std::string::npos);
  EXPECT_EQ(ParseStatus(tensor(10, {256}, 0, 32, 300)).code(), Code::kUnimplemented);  // Q2_K
  EXPECT_NE(ParseStatus(tensor(0, {1u << 31, 1u << 31, 1u << 31}, 0, 32, 8)).message().find("element count"),
            std::string::npos);
  EXPECT_NE(ParseStatus(tensor(0, {}, 0, 32, 8)).message().find("n_dims 0"), std::string::npos);
  EXPECT_NE(ParseStatus(tensor(0, {4}, ~uint64_t{0} - 31, 32, 8)).message().find("past the end"), std::string::npos);
}

TEST(Gguf, OpenMissingFile) {
  auto f = GgufFile::Open("/nonexistent/x.gguf");
  EXPECT_EQ(f.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace lucid::llm
