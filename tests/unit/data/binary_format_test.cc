#include "shardrec/data/binary_format.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "shardrec/core/error.h"
#include "shardrec/data/criteo_tsv.h"
#include "test_util.h"

namespace shardrec {
namespace {

using testing::ExpectRankUnionMatches;
using testing::FlatSample;
using testing::ReadFile;
using testing::ReadSteps;
using testing::TempPath;
using testing::WriteFile;

constexpr char kSample[] = "criteo-sample/criteo_kaggle_sample.tsv";
std::string SamplePath() { return testing::DataDir() + "/" + kSample; }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::unique_ptr<SampleSource> BinSource(const std::string& path, int rank, int world, uint64_t g, bool repeat,
                                        HoldoutSplit split = {}, uint64_t start_step = 0) {
  BinaryOptions o;
  o.slice.rank = rank;
  o.slice.world = world;
  o.slice.global_batch = g;
  o.slice.repeat = repeat;
  o.slice.start_step = start_step;
  o.split = split;
  return std::make_unique<BinarySource>(path, o);
}

std::unique_ptr<SampleSource> TsvSource(const std::string& path, int rank, int world, uint64_t g, bool repeat,
                                        HoldoutSplit split = {}) {
  CriteoTsvOptions o;
  o.slice.rank = rank;
  o.slice.world = world;
  o.slice.global_batch = g;
  o.slice.repeat = repeat;
  o.split = split;
  return std::make_unique<CriteoTsvSource>(path, o);
}

// The sample converted once per test binary.
const std::string& SampleBinary() {
  static const std::string path = [] {
    const std::string p = ::testing::TempDir() + "/shardrec_data_" + std::to_string(::getpid()) + "_sample.bin";
    ConvertTsvToBinary(SamplePath(), p, config::ERROR);
    return p;
  }();
  return path;
}

TEST(BinaryFormat, ConvertedSampleReadsLikeTheTsv) {
  SHARDREC_REQUIRE_DATA(kSample);
  const BinaryFileInfo info = ReadBinaryFileInfo(SampleBinary());
  EXPECT_EQ(info.header.version(), kBinaryVersion);
  EXPECT_EQ(info.header.num_samples(), 2199u);
  EXPECT_EQ(info.header.num_dense(), 13u);
  EXPECT_EQ(info.header.num_sparse(), 26u);
  EXPECT_EQ(info.header.malformed_skipped(), 0u);
  EXPECT_EQ(info.record_size, 4u + 13 * 4 + 26 * 8);
  EXPECT_EQ(info.file_size, info.data_offset + 2199 * info.record_size);

  for (bool repeat : {false, true}) {
    auto bin = BinSource(SampleBinary(), 0, 1, 100, repeat);
    auto tsv = TsvSource(SamplePath(), 0, 1, 100, repeat);
    const auto want = ReadSteps(tsv.get(), 50);
    const auto got = ReadSteps(bin.get(), 50);
    ASSERT_EQ(got.size(), repeat ? 50u : 22u);
    EXPECT_EQ(got, want);
  }
  auto bin = BinSource(SampleBinary(), 0, 1, 100, false);
  EXPECT_EQ(bin->num_dense(), 13);
  EXPECT_EQ(bin->num_sparse(), 26);
  EXPECT_EQ(bin->cardinalities(), std::vector<uint64_t>(26, 0));
}

TEST(BinaryFormat, RankSlicesUnionToTheSingleStream) {
  SHARDREC_REQUIRE_DATA(kSample);
  const std::string path = SampleBinary();
  std::vector<std::vector<FlatSample>> single;
  ExpectRankUnionMatches([&](int r, int w) { return BinSource(path, r, w, 64, true); }, 80, &single);
  ASSERT_EQ(single.size(), 80u);
  // The holdout parts select the same lines as the TSV reader's.
  for (SplitPart part : {SplitPart::kTrain, SplitPart::kEval}) {
    const HoldoutSplit split{part, 10};
    const bool repeat = part == SplitPart::kTrain;
    ExpectRankUnionMatches([&](int r, int w) { return BinSource(path, r, w, 64, repeat, split); }, 70, &single);
    auto tsv = TsvSource(SamplePath(), 0, 1, 64, repeat, split);
    EXPECT_EQ(single, ReadSteps(tsv.get(), 70));
    EXPECT_EQ(single.size(), repeat ? 70u : 4u);
  }
}

TEST(BinaryFormat, StartStepEqualsReadingAndDiscarding) {
  SHARDREC_REQUIRE_DATA(kSample);
  for (uint64_t start : {uint64_t{0}, uint64_t{7}, uint64_t{33}, uint64_t{1000003}}) {
    auto skipped = BinSource(SampleBinary(), 2, 4, 64, true, {SplitPart::kTrain, 10}, start);
    auto read = BinSource(SampleBinary(), 2, 4, 64, true, {SplitPart::kTrain, 10});
    // Reading a million batches would be slow; positions modulo the epoch are what matter.
    const uint64_t epoch = 1980;
    uint64_t discard = start;
    if (start > 100) {
      // Same phase: skip a whole number of epochs' worth of batches (64 * 495 = 16 * 1980).
      discard = start % 495;
    }
    Batch b;
    for (uint64_t i = 0; i < discard; ++i) ASSERT_TRUE(read->Next(&b));
    auto want = ReadSteps(read.get(), 20);
    auto got = ReadSteps(skipped.get(), 20);
    ASSERT_EQ(got.size(), want.size());
    for (size_t s = 0; s < got.size(); ++s) {
      ASSERT_EQ(got[s].size(), want[s].size());
      for (size_t i = 0; i < got[s].size(); ++i) {
        EXPECT_EQ((got[s][i].position - want[s][i].position) % static_cast<int64_t>(epoch), 0);
        want[s][i].position = got[s][i].position;
        EXPECT_EQ(got[s][i], want[s][i]) << "start " << start << " step " << s;
      }
    }
  }
}

TEST(BinaryFormat, ConverterSkipRecordsCountsInHeader) {
  SHARDREC_REQUIRE_DATA(kSample);
  const std::string in = TempPath("in.tsv");
  const std::string out = TempPath("out.bin");
  const auto lines = testing::ReadLines(SamplePath());
  std::string content;
  for (int i = 0; i < 10; ++i) content += lines[i] + "\n";
  content += "1\t2\t3\n";                       // wrong field count
  content += lines[10].substr(2) + "\n";        // label and its tab removed: 39 fields
  content += "7" + lines[11].substr(1) + "\n";  // bad label
  WriteFile(in, content);
  const ConvertResult r = ConvertTsvToBinary(in, out, config::SKIP);
  EXPECT_EQ(r.lines_read, 13u);
  EXPECT_EQ(r.samples_written, 10u);
  EXPECT_EQ(r.stats.malformed_skipped, 3u);
  ASSERT_EQ(r.stats.malformed_by_reason.size(), 2u);
  EXPECT_EQ(r.stats.malformed_by_reason[0], std::make_pair(std::string("wrong field count"), uint64_t{2}));
  EXPECT_EQ(r.stats.malformed_by_reason[1], std::make_pair(std::string("bad label"), uint64_t{1}));
  const BinaryFileInfo info = ReadBinaryFileInfo(out);
  EXPECT_EQ(info.header.num_samples(), 10u);
  EXPECT_EQ(info.header.malformed_skipped(), 3u);
  EXPECT_NE(info.header.source().find(in), std::string::npos);
  EXPECT_FALSE(Exists(out + ".partial"));
  EXPECT_FALSE(Exists(out + ".records.tmp"));

  // Under ERROR the same input fails on line 11 and leaves nothing behind.
  const std::string out2 = TempPath("out2.bin");
  const std::string msg = testing::ErrorOf([&] { ConvertTsvToBinary(in, out2, config::ERROR); });
  EXPECT_EQ(msg.rfind(in + ":11: expected 40 tab-separated fields, got 3", 0), 0u) << msg;
  EXPECT_FALSE(Exists(out2));
  EXPECT_FALSE(Exists(out2 + ".partial"));
  EXPECT_FALSE(Exists(out2 + ".records.tmp"));
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST(BinaryFormat, MissingCategoricalRoundTripsAsEmptyBag) {
  const std::string path = TempPath("w.bin");
  {
    BinaryWriter w(path, 2, 3);
    const float dense[2] = {0.5f, 1.5f};
    const uint64_t ids[3] = {7, kMissingId, 0};
    w.Append(1.0f, dense, ids);
    data::BinaryHeader h;
    h.add_distinct_ids(10);
    h.add_distinct_ids(20);
    h.add_distinct_ids(30);
    w.Finish(h);
  }
  auto src = BinSource(path, 0, 1, 1, false);
  EXPECT_EQ(src->cardinalities(), (std::vector<uint64_t>{10, 20, 30}));
  Batch b;
  ASSERT_TRUE(src->Next(&b));
  const auto rows = testing::Flatten(b);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].label, 1.0f);
  EXPECT_EQ(rows[0].dense, (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(rows[0].bags, (std::vector<std::vector<uint64_t>>{{7}, {}, {0}}));
  EXPECT_FALSE(src->Next(&b));
  std::remove(path.c_str());
}

TEST(BinaryFormat, CorruptFilesAreRejectedWithTheReason) {
  SHARDREC_REQUIRE_DATA(kSample);
  const std::string good = ReadFile(SampleBinary());
  const std::string path = TempPath("corrupt.bin");
  auto reject = [&](const std::string& bytes, const std::string& fragment) {
    WriteFile(path, bytes);
    const std::string msg = testing::ErrorOf([&] { ReadBinaryFileInfo(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    const std::string msg2 = testing::ErrorOf([&] { BinSource(path, 0, 1, 4, false); });
    EXPECT_NE(msg2.find(fragment), std::string::npos) << msg2;
  };
  std::string bad_magic = good;
  bad_magic[3] = 'X';
  reject(bad_magic, "bad magic");
  reject(good.substr(0, 5), "shorter than the 12-byte preamble");
  std::string long_header = good;
  const uint32_t huge = static_cast<uint32_t>(good.size());
  std::memcpy(&long_header[8], &huge, 4);
  reject(long_header, "runs beyond the file");
  reject(good.substr(0, good.size() - 10), "size mismatch");
  reject(good + "x", "size mismatch");
  uint32_t header_len;
  std::memcpy(&header_len, &good[8], 4);
  std::string garbage_header = good;
  for (uint32_t i = 0; i < header_len; ++i) garbage_header[12 + i] = '\xff';
  reject(garbage_header, "does not parse");
  // Header claiming a different shape: same bytes, but now the size cannot match.
  data::BinaryHeader h;
  ASSERT_TRUE(h.ParseFromString(good.substr(12, header_len)));
  h.set_num_dense(14);
  std::string hb;
  h.SerializeToString(&hb);
  const uint32_t hl = static_cast<uint32_t>(hb.size());
  std::string reshaped =
      good.substr(0, 8) + std::string(reinterpret_cast<const char*>(&hl), 4) + hb + good.substr(12 + header_len);
  reject(reshaped, "size mismatch");
  h.set_num_dense(13);
  h.set_version(2);
  h.SerializeToString(&hb);
  std::string future =
      good.substr(0, 8) + std::string(reinterpret_cast<const char*>(&hl), 4) + hb + good.substr(12 + header_len);
  reject(future, "unsupported format version 2");

  // A record whose label is not 0/1 is caught when read.
  std::string bad_label = good;
  const BinaryFileInfo info = ReadBinaryFileInfo(SampleBinary());
  const float half = 0.5f;
  std::memcpy(&bad_label[info.data_offset + 3 * info.record_size], &half, 4);
  WriteFile(path, bad_label);
  auto src = BinSource(path, 0, 1, 8, false);
  Batch b;
  const std::string msg = testing::ErrorOf([&] { src->Next(&b); });
  EXPECT_NE(msg.find(path + ": corrupt record 3: label 0.5 is not 0 or 1"), std::string::npos) << msg;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace shardrec
