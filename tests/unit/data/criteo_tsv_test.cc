#include "shardrec/data/criteo_tsv.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "shardrec/core/error.h"
#include "test_util.h"

namespace shardrec {
namespace {

using testing::ExpectRankUnionMatches;
using testing::FlatSample;
using testing::ReadLines;
using testing::ReadSteps;
using testing::TempPath;
using testing::WriteFile;

constexpr char kSample[] = "criteo-sample/criteo_kaggle_sample.tsv";

std::string SamplePath() { return testing::DataDir() + "/" + kSample; }

FlatSample FromRow(const CriteoRow& row, int64_t position) {
  FlatSample s;
  s.position = position;
  s.label = row.label;
  s.dense.assign(row.dense.begin(), row.dense.end());
  for (int f = 0; f < kCriteoNumSparse; ++f) {
    s.bags.emplace_back();
    if (row.has(f)) s.bags.back().push_back(row.ids[f]);
  }
  return s;
}

// A valid line with every field set, to mutate into malformed ones.
std::vector<std::string> GoodFields() {
  std::vector<std::string> f = {"1"};
  for (int i = 0; i < kCriteoNumDense; ++i) f.push_back(std::to_string(i * 7));
  for (int i = 0; i < kCriteoNumSparse; ++i) f.push_back("0000abc" + std::to_string(i % 10));
  return f;
}

std::string JoinTabs(const std::vector<std::string>& f) {
  std::string s;
  for (size_t i = 0; i < f.size(); ++i) s += (i ? "\t" : "") + f[i];
  return s;
}

std::string GoodLine() { return JoinTabs(GoodFields()); }

std::unique_ptr<SampleSource> TsvSource(const std::string& path, int rank, int world, uint64_t g, bool repeat,
                                        HoldoutSplit split = {}, config::MalformedPolicy policy = config::ERROR,
                                        uint64_t start_step = 0) {
  CriteoTsvOptions o;
  o.slice.rank = rank;
  o.slice.world = world;
  o.slice.global_batch = g;
  o.slice.repeat = repeat;
  o.slice.start_step = start_step;
  o.split = split;
  o.malformed = policy;
  return std::make_unique<CriteoTsvSource>(path, o);
}

TEST(CriteoParse, FirstLineOfSample) {
  SHARDREC_REQUIRE_DATA(kSample);
  const auto lines = ReadLines(SamplePath());
  ASSERT_FALSE(lines.empty());
  CriteoRow row;
  ParseFailure failure;
  ASSERT_TRUE(ParseCriteoLine(lines[0], &row, &failure)) << failure.message;
  // 0  1 1 5 0 1382 4 15 2 181 1 2 <empty> 2  68fd1e64 80e26c9b ... <C22 empty> ... 9727dd16
  EXPECT_EQ(row.label, 0.0f);
  const double ints[kCriteoNumDense] = {1, 1, 5, 0, 1382, 4, 15, 2, 181, 1, 2, 0, 2};
  for (int i = 0; i < kCriteoNumDense; ++i)
    EXPECT_FLOAT_EQ(row.dense[i], static_cast<float>(std::log1p(ints[i]))) << "I" << i + 1;
  EXPECT_EQ(row.dense_missing, 1u << 11);  // only I12 is empty
  EXPECT_EQ(row.ids[0], 0x68fd1e64u);
  EXPECT_EQ(row.ids[1], 0x80e26c9bu);
  EXPECT_EQ(row.ids[20], 0x07b5194cu);
  EXPECT_EQ(row.ids[22], 0x3a171ecbu);
  EXPECT_EQ(row.ids[25], 0x9727dd16u);
  EXPECT_EQ(row.missing, 1u << 21);  // only C22 is empty
  EXPECT_FALSE(row.has(21));
  EXPECT_TRUE(row.has(0));
}

TEST(CriteoParse, DenseTransform) {
  EXPECT_EQ(CriteoDenseTransform(0), 0.0f);
  EXPECT_EQ(CriteoDenseTransform(-5), 0.0f);
  EXPECT_FLOAT_EQ(CriteoDenseTransform(1), static_cast<float>(std::log(2.0)));
  EXPECT_FLOAT_EQ(CriteoDenseTransform(4095), static_cast<float>(std::log1p(4095.0)));
  EXPECT_FLOAT_EQ(CriteoDenseTransform(4096), static_cast<float>(std::log1p(4096.0)));
  EXPECT_FLOAT_EQ(CriteoDenseTransform(123456789), static_cast<float>(std::log1p(123456789.0)));
}

TEST(CriteoParse, NegativeEmptyAndCrlf) {
  auto f = GoodFields();
  f[2] = "-3";
  f[3] = "";
  f[1 + kCriteoNumDense] = "";
  f[1 + kCriteoNumDense + 1] = "ABCDEF01";  // upper-case hex is fine
  f[1 + kCriteoNumDense + 2] = "fffffffffffffffe";
  CriteoRow row;
  ASSERT_TRUE(ParseCriteoLine(JoinTabs(f) + "\r", &row));
  EXPECT_EQ(row.dense[1], 0.0f);
  EXPECT_EQ(row.dense[2], 0.0f);
  EXPECT_EQ(row.dense_missing, 1u << 2);
  EXPECT_FALSE(row.has(0));
  EXPECT_EQ(row.ids[1], 0xabcdef01u);
  EXPECT_EQ(row.ids[2], 0xfffffffffffffffeull);
  EXPECT_EQ(row.label, 1.0f);
}

// The sample's shape, counted independently of the parser:
//   awk -F'\t' '{for(i=1;i<=NF;i++) if($i=="") c[i]++} END{for(i=1;i<=40;i++) printf "%d,", c[i]+0}'
//       criteo_kaggle_sample.tsv      (one command; columns 2-14 are I1-I13, 15-40 are C1-C26)
//   awk -F'\t' '{s+=$1} END{print s}' criteo_kaggle_sample.tsv            -> 467
//   awk -F'\t' '$3!="" && $3<0' criteo_kaggle_sample.tsv | wc -l           -> 232 (negative I2)
TEST(CriteoSample, ParsesAllRowsWithExactEmptyCounts) {
  SHARDREC_REQUIRE_DATA(kSample);
  const uint64_t kEmptyInts[kCriteoNumDense] = {979, 0, 483, 455, 99, 544, 103, 2, 103, 979, 103, 1711, 455};
  const uint64_t kEmptyCats[kCriteoNumSparse] = {0, 0, 75, 75, 0, 283,  0,    0,  0,    0, 0,  75,   0,
                                                 0, 0, 75, 0,  0, 1047, 1047, 75, 1790, 0, 75, 1047, 1047};
  // Integer emptiness is visible only to the parser (empty and 0 both read as 0.0).
  uint64_t empty_ints[kCriteoNumDense] = {};
  uint64_t negative_i2 = 0;
  const auto lines = ReadLines(SamplePath());
  ASSERT_EQ(lines.size(), 2199u);
  for (const std::string& line : lines) {
    CriteoRow row;
    ParseFailure failure;
    ASSERT_TRUE(ParseCriteoLine(line, &row, &failure)) << failure.message;
    for (int i = 0; i < kCriteoNumDense; ++i) empty_ints[i] += (row.dense_missing >> i) & 1u;
    const size_t i2 = line.find('\t', line.find('\t') + 1) + 1;  // start of field 3 (I2)
    if (line[i2] == '-') {
      ++negative_i2;
      EXPECT_EQ(row.dense[1], 0.0f) << "negative I2 must read as log1p(0)";
    }
  }
  for (int i = 0; i < kCriteoNumDense; ++i) EXPECT_EQ(empty_ints[i], kEmptyInts[i]) << "I" << i + 1;
  EXPECT_EQ(negative_i2, 232u);

  // Through the source: row count, labels, and empty categoricals as bags of length 0.
  auto src = TsvSource(SamplePath(), 0, 1, 500, /*repeat=*/false);
  uint64_t rows = 0, positives = 0;
  uint64_t empty_cats[kCriteoNumSparse] = {};
  Batch b;
  while (src->Next(&b)) {
    rows += static_cast<uint64_t>(b.batch_size);
    for (float l : b.labels) positives += l == 1.0f;
    ASSERT_EQ(b.sparse.size(), static_cast<size_t>(kCriteoNumSparse));
    for (int f = 0; f < kCriteoNumSparse; ++f)
      for (int32_t len : b.sparse[f].lengths) empty_cats[f] += len == 0;
  }
  EXPECT_EQ(rows, 2199u);
  EXPECT_EQ(positives, 467u);
  for (int f = 0; f < kCriteoNumSparse; ++f) EXPECT_EQ(empty_cats[f], kEmptyCats[f]) << "C" << f + 1;
  EXPECT_EQ(src->stats().lines_read, 2199u);
  EXPECT_EQ(src->stats().malformed_skipped, 0u);
}

struct MalformedCase {
  const char* name;
  std::string line;
  MalformedReason reason;
  const char* message;  // a fragment of the error message
};

std::vector<MalformedCase> MalformedCases() {
  std::vector<MalformedCase> cases;
  auto with = [](int field, const std::string& value) {
    auto f = GoodFields();
    f[field] = value;
    return JoinTabs(f);
  };
  const int c1 = 1 + kCriteoNumDense;
  {
    auto f = GoodFields();
    f.pop_back();
    cases.push_back(
        {"39 fields", JoinTabs(f), MalformedReason::kFieldCount, "expected 40 tab-separated fields, got 39"});
  }
  cases.push_back(
      {"41 fields", GoodLine() + "\tabc", MalformedReason::kFieldCount, "expected 40 tab-separated fields, got 41"});
  cases.push_back({"empty line", "", MalformedReason::kFieldCount, "expected 40 tab-separated fields, got 1"});
  cases.push_back({"label 2", with(0, "2"), MalformedReason::kBadLabel, "label must be 0 or 1, got '2'"});
  cases.push_back({"empty label", with(0, ""), MalformedReason::kBadLabel, "label must be 0 or 1"});
  cases.push_back({"label 01", with(0, "01"), MalformedReason::kBadLabel, "label must be 0 or 1"});
  cases.push_back({"float int", with(3, "1.5"), MalformedReason::kBadInteger, "I3 is not an integer: '1.5'"});
  cases.push_back({"word int", with(1, "abc"), MalformedReason::kBadInteger, "I1 is not an integer"});
  cases.push_back({"space int", with(13, " 4"), MalformedReason::kBadInteger, "I13 is not an integer"});
  cases.push_back({"huge int", with(2, "99999999999999999999"), MalformedReason::kBadInteger,
                   "I2 is outside the 64-bit integer range"});
  cases.push_back({"overlong int", with(5, std::string(21, '1')), MalformedReason::kOverlongField,
                   "I5 has 21 characters (at most 20)"});
  cases.push_back({"bad hex", with(c1 + 4, "zz12"), MalformedReason::kBadHex, "C5 is not a hex id: 'zz12'"});
  cases.push_back({"0x hex", with(c1, "0x12"), MalformedReason::kBadHex, "C1 is not a hex id"});
  cases.push_back({"negative hex", with(c1 + 25, "-1"), MalformedReason::kBadHex, "C26 is not a hex id"});
  cases.push_back({"reserved hex", with(c1 + 3, "ffffffffffffffff"), MalformedReason::kBadHex, "reserved"});
  cases.push_back(
      {"overlong hex", with(c1 + 9, std::string(17, 'a')), MalformedReason::kOverlongField, "C10 has 17 characters"});
  cases.push_back({"overlong line", with(c1 + 1, std::string(kCriteoMaxLineBytes + 10, 'b')),
                   MalformedReason::kOverlongLine, "bytes (at most 65536)"});
  return cases;
}

TEST(CriteoParse, EachMalformedCaseHasItsReason) {
  for (const MalformedCase& c : MalformedCases()) {
    CriteoRow row;
    ParseFailure failure;
    EXPECT_FALSE(ParseCriteoLine(c.line, &row, &failure)) << c.name;
    EXPECT_EQ(failure.reason, c.reason) << c.name << ": " << failure.message;
    EXPECT_NE(failure.message.find(c.message), std::string::npos) << c.name << ": " << failure.message;
  }
}

TEST(CriteoTsvSource, MalformedLineUnderErrorNamesFileLineAndReason) {
  const std::string path = TempPath("bad.tsv");
  for (const MalformedCase& c : MalformedCases()) {
    // Bad line is line 3; with world 2 and G 4 it belongs to rank 1.
    WriteFile(path, GoodLine() + "\n" + GoodLine() + "\n" + c.line + "\n" + GoodLine() + "\n");
    auto src = TsvSource(path, 1, 2, 4, /*repeat=*/false);
    Batch b;
    try {
      src->Next(&b);
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ":3: ", 0), 0u) << c.name << ": " << msg;
      EXPECT_NE(msg.find(c.message), std::string::npos) << c.name << ": " << msg;
    }
    // Rank 0 never parses line 3, so it does not fail.
    auto rank0 = TsvSource(path, 0, 2, 4, /*repeat=*/false);
    EXPECT_TRUE(rank0->Next(&b)) << c.name;
    EXPECT_EQ(b.batch_size, 2) << c.name;
  }
  std::remove(path.c_str());
}

TEST(CriteoTsvSource, MalformedLinesUnderSkipAreCountedByReason) {
  const std::string path = TempPath("bad.tsv");
  std::string content;
  const auto cases = MalformedCases();
  uint64_t expected[static_cast<int>(MalformedReason::kNumReasons)] = {};
  int good = 0;
  for (const MalformedCase& c : cases) {
    content += GoodLine() + "\n" + c.line + "\n";
    ++good;
    ++expected[static_cast<int>(c.reason)];
  }
  WriteFile(path, content);
  auto src = TsvSource(path, 0, 1, 7, /*repeat=*/false, {}, config::SKIP);
  int rows = 0;
  Batch b;
  while (src->Next(&b)) rows += static_cast<int>(b.batch_size);
  EXPECT_EQ(rows, good);
  const DataStats stats = src->stats();
  EXPECT_EQ(stats.lines_read, cases.size() * 2);
  EXPECT_EQ(stats.malformed_skipped, cases.size());
  for (int r = 0; r < static_cast<int>(MalformedReason::kNumReasons); ++r) {
    const std::string name = MalformedReasonName(static_cast<MalformedReason>(r));
    uint64_t got = 0;
    for (const auto& [reason, count] : stats.malformed_by_reason)
      if (reason == name) got = count;
    EXPECT_EQ(got, expected[r]) << name;
  }
  // The whole-file scan agrees.
  const DataStats scan = ScanCriteoTsv(path);
  EXPECT_EQ(scan.lines_read, cases.size() * 2);
  EXPECT_EQ(scan.malformed_by_reason, stats.malformed_by_reason);
  std::remove(path.c_str());
}

TEST(CriteoTsvSource, SkippedLinesLeaveHolesButRankUnionHolds) {
  const std::string path = TempPath("holes.tsv");
  std::string content;
  for (int i = 0; i < 37; ++i) {
    auto f = GoodFields();
    f[1] = std::to_string(i);  // tells the rows apart
    content += (i % 5 == 3 ? "garbage" : JoinTabs(f)) + "\n";
  }
  WriteFile(path, content);
  std::vector<std::vector<FlatSample>> single;
  ExpectRankUnionMatches([&](int r, int w) { return TsvSource(path, r, w, 8, /*repeat=*/false, {}, config::SKIP); },
                         100, &single,
                         /*positions=*/false);
  size_t rows = 0;
  for (const auto& step : single) rows += step.size();
  EXPECT_EQ(single.size(), 5u);  // ceil(37 / 8)
  EXPECT_EQ(rows, 37u - 7u);
  std::remove(path.c_str());
}

// Expected stream: position p is line split.RecordIndex(p % part_size) of the file.
void ExpectStreamFollowsLines(const std::vector<std::vector<FlatSample>>& stream, const std::vector<CriteoRow>& rows,
                              const HoldoutSplit& split, uint64_t g) {
  const uint64_t part = split.Size(rows.size());
  for (size_t step = 0; step < stream.size(); ++step) {
    for (size_t i = 0; i < stream[step].size(); ++i) {
      const FlatSample& s = stream[step][i];
      ASSERT_EQ(s.position, static_cast<int64_t>(step * g + i));
      const uint64_t line = split.RecordIndex(static_cast<uint64_t>(s.position) % part);
      ASSERT_EQ(s, FromRow(rows[line], s.position)) << "step " << step << " row " << i;
    }
  }
}

std::vector<CriteoRow> ParseAll(const std::string& path) {
  std::vector<CriteoRow> rows;
  for (const std::string& line : ReadLines(path)) {
    rows.emplace_back();
    EXPECT_TRUE(ParseCriteoLine(line, &rows.back()));
  }
  return rows;
}

TEST(CriteoTsvSource, RankSlicesUnionToTheSingleStream) {
  SHARDREC_REQUIRE_DATA(kSample);
  const std::string path = SamplePath();
  const auto rows = ParseAll(path);
  ASSERT_EQ(rows.size(), 2199u);
  const HoldoutSplit all;
  const HoldoutSplit train{SplitPart::kTrain, 10};
  const HoldoutSplit eval{SplitPart::kEval, 10};
  std::vector<std::vector<FlatSample>> single;

  // Whole file, training: 80 steps of 64 wrap around the 2,199 lines twice.
  ExpectRankUnionMatches([&](int r, int w) { return TsvSource(path, r, w, 64, true, all); }, 80, &single);
  ASSERT_EQ(single.size(), 80u);
  ExpectStreamFollowsLines(single, rows, all, 64);

  // Train part of a holdout split (1,980 lines), wrapping.
  ExpectRankUnionMatches([&](int r, int w) { return TsvSource(path, r, w, 64, true, train); }, 70, &single);
  ASSERT_EQ(single.size(), 70u);
  ExpectStreamFollowsLines(single, rows, train, 64);

  // Eval part (219 lines): ends, last global batch 219 - 3*64 = 27 split 6/7/7/7 on 4 ranks.
  ExpectRankUnionMatches([&](int r, int w) { return TsvSource(path, r, w, 64, false, eval); }, 100, &single);
  ASSERT_EQ(single.size(), 4u);
  EXPECT_EQ(single.back().size(), 27u);
  ExpectStreamFollowsLines(single, rows, eval, 64);
  auto last = TsvSource(path, 3, 4, 64, false, eval);
  Batch b;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(last->Next(&b));
  EXPECT_EQ(b.batch_size, 7);
  EXPECT_EQ(b.first_sample, 3 * 64 + 20);  // 27 * 3 / 4
  EXPECT_FALSE(last->Next(&b));
}

TEST(CriteoTsvSource, StartStepEqualsReadingAndDiscarding) {
  SHARDREC_REQUIRE_DATA(kSample);
  const HoldoutSplit train{SplitPart::kTrain, 10};
  for (uint64_t start : {uint64_t{0}, uint64_t{5}, uint64_t{31}, uint64_t{100}}) {
    auto skipped = TsvSource(SamplePath(), 1, 2, 64, true, train, config::ERROR, start);
    auto read = TsvSource(SamplePath(), 1, 2, 64, true, train);
    Batch b;
    for (uint64_t i = 0; i < start; ++i) ASSERT_TRUE(read->Next(&b));
    const auto want = ReadSteps(read.get(), 40);
    const auto got = ReadSteps(skipped.get(), 40);
    EXPECT_EQ(got, want) << "start_step " << start;
  }
  // An eval stream skipped past its end is simply over.
  auto over = TsvSource(SamplePath(), 0, 1, 64, false, {SplitPart::kEval, 10}, config::ERROR, 4);
  Batch b;
  EXPECT_FALSE(over->Next(&b));
}

TEST(CriteoTsvSource, LastLineWithoutNewlineAndCrlf) {
  const std::string path = TempPath("crlf.tsv");
  WriteFile(path, GoodLine() + "\r\n" + GoodLine() + "\r\n" + GoodLine());
  auto src = TsvSource(path, 0, 1, 10, false);
  Batch b;
  ASSERT_TRUE(src->Next(&b));
  EXPECT_EQ(b.batch_size, 3);
  EXPECT_FALSE(src->Next(&b));
  std::remove(path.c_str());
}

TEST(CriteoTsvSource, EmptyFileEndsEvalAndFailsTraining) {
  const std::string path = TempPath("empty.tsv");
  WriteFile(path, "");
  Batch b;
  EXPECT_FALSE(TsvSource(path, 0, 1, 4, false)->Next(&b));
  auto train = TsvSource(path, 0, 1, 4, true);
  EXPECT_THROW(train->Next(&b), Error);
  std::remove(path.c_str());
}

TEST(CriteoTsvSource, RejectsCompressedAndMissingFiles) {
  const std::string path = TempPath("x.tsv.gz");
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  const std::string line = GoodLine() + "\n";
  gzwrite(gz, line.data(), static_cast<unsigned>(line.size()));
  gzclose(gz);
  try {
    TsvSource(path, 0, 1, 4, false);
    ADD_FAILURE() << "compressed file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("compressed"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  try {
    TsvSource(path + ".missing", 0, 1, 4, false);
    ADD_FAILURE() << "missing file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ".missing"), std::string::npos) << e.what();
  }
}

TEST(CriteoTsvSource, RejectsBadSlicing) {
  SHARDREC_REQUIRE_DATA(kSample);
  EXPECT_THROW(TsvSource(SamplePath(), 0, 3, 64, true), Error);  // 64 % 3 != 0
  EXPECT_THROW(TsvSource(SamplePath(), 4, 4, 64, true), Error);
  EXPECT_THROW(TsvSource(SamplePath(), 0, 1, 64, true, {SplitPart::kTrain, 1}), Error);
}

}  // namespace
}  // namespace shardrec
