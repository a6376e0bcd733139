#include "shardrec/data/sequence_data.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "data_test_util.h"
#include "shardrec/core/error.h"
#include "test_util.h"

namespace shardrec {
namespace {

using testing::ErrorOf;
using testing::WriteFile;
using Reasons = std::vector<std::pair<std::string, uint64_t>>;

// testing::TempPath, with the '/' of parameterised test names made a '_'.
std::string TempPath(const std::string& name) {
  std::string dir = ::testing::TempDir();
  if (!dir.empty() && dir.back() != '/') dir += '/';
  std::string file = testing::TempPath(name).substr(dir.size());
  std::replace(file.begin(), file.end(), '/', '_');
  return dir + file;
}

void WriteGzip(const std::string& path, const std::string& content) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr) << path;
  ASSERT_EQ(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())), static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

SequenceDataset Read(const std::string& content, config::SequenceFormat format, uint32_t min_length = 1,
                     config::MalformedPolicy policy = config::ERROR, const std::string& name = "data") {
  const std::string path = TempPath(name);
  WriteFile(path, content);
  return ReadSequenceDataset(path, format, min_length, policy);
}

std::vector<uint64_t> UserIds(const SequenceDataset& ds) {
  std::vector<uint64_t> ids;
  for (const UserHistory& h : ds.users) ids.push_back(h.user);
  return ids;
}

// ---------------------------------------------------------------------------
// ITEM_LINES

TEST(SequenceItemLines, ParsesUsersInIdOrderWithZeroTimestamps) {
  // Users out of order, runs of spaces and tabs, a CRLF line, no final newline.
  const SequenceDataset ds = Read("3 7 8 9\n1  4\t\t5 6  \r\n2 10 4 4 11", config::ITEM_LINES);
  EXPECT_EQ(UserIds(ds), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(ds.users[0].items, (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(ds.users[1].items, (std::vector<uint64_t>{10, 4, 4, 11}));  // repeats are interactions too
  EXPECT_EQ(ds.users[2].items, (std::vector<uint64_t>{7, 8, 9}));
  for (const UserHistory& h : ds.users) EXPECT_EQ(h.timestamps, std::vector<int64_t>(h.items.size(), 0));
  EXPECT_FALSE(ds.has_timestamps);
  EXPECT_EQ(ds.interactions, 10u);
  EXPECT_EQ(ds.max_item_id, 11u);
  EXPECT_EQ(ds.num_items, 8u);  // 4 5 6 7 8 9 10 11
  EXPECT_EQ(ds.users_dropped, 0u);
  EXPECT_EQ(ds.stats.lines_read, 3u);
  EXPECT_EQ(ds.stats.malformed_skipped, 0u);
}

TEST(SequenceItemLines, DropsShortUsersAndCountsOnlyKeptOnes) {
  const SequenceDataset ds = Read("1 1 2\n2 3 4 5\n3 6\n4 7 8 9 99\n", config::ITEM_LINES, 3);
  EXPECT_EQ(UserIds(ds), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(ds.users_dropped, 2u);
  EXPECT_EQ(ds.interactions, 7u);
  EXPECT_EQ(ds.max_item_id, 99u);
  EXPECT_EQ(ds.num_items, 7u);
  EXPECT_EQ(ds.stats.lines_read, 4u);
}

TEST(SequenceItemLines, HugeSparseIdsCountDistinctItems) {
  // Ids far above the interaction count take the hash-set path.
  const SequenceDataset ds = Read("5 18446744073709551615 1 18446744073709551615\n", config::ITEM_LINES);
  EXPECT_EQ(ds.max_item_id, 18446744073709551615ull);
  EXPECT_EQ(ds.num_items, 2u);
  EXPECT_EQ(ds.interactions, 3u);
}

TEST(SequenceItemLines, GzipReadsLikePlain) {
  const std::string content = "2 5 6 7\n1 1 2 3 4\n";
  const std::string gz = TempPath("data.txt.gz");
  WriteGzip(gz, content);
  const SequenceDataset a = ReadSequenceDataset(gz, config::ITEM_LINES, 3, config::ERROR);
  const SequenceDataset b = Read(content, config::ITEM_LINES, 3);
  ASSERT_EQ(UserIds(a), (std::vector<uint64_t>{1, 2}));
  for (size_t i = 0; i < a.users.size(); ++i) EXPECT_EQ(a.users[i].items, b.users[i].items);
  EXPECT_EQ(a.interactions, 7u);
}

// ---------------------------------------------------------------------------
// MovieLens layouts: the same ratings in each

struct Row {
  uint64_t user, item;
  const char* rating;
  int64_t time;
};

// User 7 comes first in the file and out of time order; user 2 has ties at
// t=100 (items 30, 10, 20 in file order) that must keep that order.
const std::vector<Row> kRows = {
    {7, 5, "4", 300}, {2, 30, "5", 100}, {7, 6, "3.5", 100}, {2, 10, "1", 100},
    {7, 8, "2", 200}, {2, 40, "2", 50},  {2, 20, "3", 100},
};

std::string Render(const std::vector<Row>& rows, config::SequenceFormat format) {
  std::string sep = "\t";
  std::string out;
  if (format == config::MOVIELENS_DAT) sep = "::";
  if (format == config::MOVIELENS_CSV) {
    sep = ",";
    out = "userId,movieId,rating,timestamp\n";
  }
  for (const Row& r : rows)
    out += std::to_string(r.user) + sep + std::to_string(r.item) + sep + r.rating + sep + std::to_string(r.time) + "\n";
  return out;
}

class SequenceRatings : public ::testing::TestWithParam<config::SequenceFormat> {};

TEST_P(SequenceRatings, GroupsByUserAndSortsByTimeStably) {
  const SequenceDataset ds = Read(Render(kRows, GetParam()), GetParam());
  EXPECT_TRUE(ds.has_timestamps);
  ASSERT_EQ(UserIds(ds), (std::vector<uint64_t>{2, 7}));
  EXPECT_EQ(ds.users[0].items, (std::vector<uint64_t>{40, 30, 10, 20}));
  EXPECT_EQ(ds.users[0].timestamps, (std::vector<int64_t>{50, 100, 100, 100}));
  EXPECT_EQ(ds.users[1].items, (std::vector<uint64_t>{6, 8, 5}));
  EXPECT_EQ(ds.users[1].timestamps, (std::vector<int64_t>{100, 200, 300}));
  EXPECT_EQ(ds.interactions, 7u);
  EXPECT_EQ(ds.num_items, 7u);
  EXPECT_EQ(ds.max_item_id, 40u);
  EXPECT_EQ(ds.stats.lines_read, 7u);  // the CSV header is not a data line
}

TEST_P(SequenceRatings, GzipAndCrlfReadLikePlain) {
  std::string crlf;
  for (char c : Render(kRows, GetParam())) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const std::string gz = TempPath("ratings.gz");
  WriteGzip(gz, crlf);
  const SequenceDataset ds = ReadSequenceDataset(gz, GetParam(), 1, config::ERROR);
  ASSERT_EQ(UserIds(ds), (std::vector<uint64_t>{2, 7}));
  EXPECT_EQ(ds.users[0].items, (std::vector<uint64_t>{40, 30, 10, 20}));
  EXPECT_EQ(ds.users[1].items, (std::vector<uint64_t>{6, 8, 5}));
}

TEST_P(SequenceRatings, MinLengthDropsUsers) {
  const SequenceDataset ds = Read(Render(kRows, GetParam()), GetParam(), 4);
  EXPECT_EQ(UserIds(ds), (std::vector<uint64_t>{2}));
  EXPECT_EQ(ds.users_dropped, 1u);
  EXPECT_EQ(ds.interactions, 4u);
  EXPECT_EQ(ds.max_item_id, 40u);
  EXPECT_EQ(ds.num_items, 4u);
}

INSTANTIATE_TEST_SUITE_P(Formats, SequenceRatings,
                         ::testing::Values(config::MOVIELENS_TAB, config::MOVIELENS_DAT, config::MOVIELENS_CSV),
                         [](const auto& info) { return config::SequenceFormat_Name(info.param); });

// ---------------------------------------------------------------------------
// Malformed lines

struct BadCase {
  config::SequenceFormat format;
  std::string line;
  std::string reason;    // DataStats key, also in the error message
  std::string fragment;  // part of the detail
};

std::vector<BadCase> BadCases() {
  const std::string huge = "18446744073709551616";  // 2^64
  std::vector<BadCase> cases = {
      {config::ITEM_LINES, "7", "wrong field count", "user 7 has no items"},
      {config::ITEM_LINES, "7   \t", "wrong field count", "user 7 has no items"},
      {config::ITEM_LINES, "", "wrong field count", "empty line"},
      {config::ITEM_LINES, " \t ", "wrong field count", "empty line"},
      {config::ITEM_LINES, "7 4 x5", "bad integer", "item id is not an integer: 'x5'"},
      {config::ITEM_LINES, "u7 4 5", "bad integer", "user id is not an integer: 'u7'"},
      {config::ITEM_LINES, "7 -4 5", "bad integer", "'-4'"},
      {config::ITEM_LINES, "7 4,5", "bad integer", "'4,5'"},
      {config::ITEM_LINES, "7 4 0 5", "zero id", "item id is 0"},
      {config::ITEM_LINES, "0 4 5", "zero id", "user id is 0"},
      {config::ITEM_LINES, "7 4 " + huge, "out of range", "item id does not fit in 64 bits"},
      {config::ITEM_LINES, huge + " 4", "out of range", "user id does not fit"},
      {config::ITEM_LINES, "1 9 9", "duplicate user", "user 1 already has a line (line 1)"},
      {config::MOVIELENS_TAB, "7\t4\t3", "wrong field count", "expected 4 tab-separated fields"},
      {config::MOVIELENS_TAB, "7\t4\t3\t100\t5", "wrong field count", "got 5"},
      {config::MOVIELENS_TAB, "7 4 3 100", "wrong field count", "got 1"},
      {config::MOVIELENS_TAB, "", "wrong field count", "got 1"},
      // Fields are never collapsed in MovieLens files: an empty item is not an integer.
      {config::MOVIELENS_TAB, "7\t\t3\t100", "bad integer", "item id is not an integer: ''"},
      {config::MOVIELENS_TAB, "7\tfour\t3\t100", "bad integer", "item id is not an integer: 'four'"},
      {config::MOVIELENS_TAB, "7\t4\t3\t1e9", "bad integer", "timestamp is not an integer: '1e9'"},
      {config::MOVIELENS_TAB, "7\t0\t3\t100", "zero id", "item id is 0"},
      {config::MOVIELENS_TAB, "0\t4\t3\t100", "zero id", "user id is 0"},
      {config::MOVIELENS_TAB, "7\t4\t3\t99999999999999999999", "out of range", "timestamp does not fit"},
      {config::MOVIELENS_TAB, "7\t4\tfive\t100", "bad rating", "'five'"},
      {config::MOVIELENS_TAB, "7\t4\t\t100", "bad rating", "''"},
      {config::MOVIELENS_TAB, "7\t4\t3.\t100", "bad rating", "'3.'"},
      {config::MOVIELENS_TAB, "7\t4\t1.2.3\t100", "bad rating", "'1.2.3'"},
      {config::MOVIELENS_TAB, "7\t4\t3\t" + std::string(kRatingLineMaxBytes, '1'), "overlong line", "(at most 4096)"},
      {config::MOVIELENS_DAT, "7::4::3", "wrong field count", "expected 4 '::'-separated fields"},
      {config::MOVIELENS_DAT, "7:4:3:100", "wrong field count", "got 1"},
      {config::MOVIELENS_DAT, "7::4::3::x", "bad integer", "timestamp is not an integer: 'x'"},
      {config::MOVIELENS_DAT, "7::" + huge + "::3::100", "out of range", "item id does not fit"},
      {config::MOVIELENS_CSV, "7,4,3.5", "wrong field count", "expected 4 comma-separated fields"},
      {config::MOVIELENS_CSV, "7,4,3.5,100,", "wrong field count", "got 5"},
      {config::MOVIELENS_CSV, "7,4,3.5,1.5", "bad integer", "timestamp is not an integer: '1.5'"},
      {config::MOVIELENS_CSV, "7,4,-1,100", "bad rating", "'-1'"},
      {config::MOVIELENS_CSV, "7,0,3.5,100", "zero id", "item id is 0"},
  };
  return cases;
}

// Good line 1 (user 1), the bad line 2, good line 3 (user 9), in the case's layout.
std::string WithGoodNeighbours(const BadCase& c) {
  std::string before = "1 1 2\n";
  std::string after = "9 3 4\n";
  if (c.format != config::ITEM_LINES) {
    before = Render({{1, 1, "1", 10}}, c.format);
    after = Render({{9, 3, "1", 10}}, c.format);
    if (c.format == config::MOVIELENS_CSV) after = after.substr(after.find('\n') + 1);  // one header only
  }
  return before + c.line + "\n" + after;
}

TEST(SequenceMalformed, ErrorPolicyNamesPathLineAndReason) {
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(config::SequenceFormat_Name(c.format) + " line '" + c.line.substr(0, 60) + "'");
    const std::string path = TempPath("bad");
    WriteFile(path, WithGoodNeighbours(c));
    const int line = c.format == config::MOVIELENS_CSV ? 3 : 2;  // after the header
    const std::string msg = ErrorOf([&] { ReadSequenceDataset(path, c.format, 1, config::ERROR); });
    EXPECT_NE(msg.find(path + ":" + std::to_string(line) + ": " + c.reason + ": "), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.fragment), std::string::npos) << msg;
  }
}

TEST(SequenceMalformed, SkipPolicyCountsByReasonAndKeepsTheRest) {
  for (const BadCase& c : BadCases()) {
    SCOPED_TRACE(config::SequenceFormat_Name(c.format) + " line '" + c.line.substr(0, 60) + "'");
    const std::string path = TempPath("bad");
    WriteFile(path, WithGoodNeighbours(c));
    const SequenceDataset ds = ReadSequenceDataset(path, c.format, 1, config::SKIP);
    EXPECT_EQ(ds.stats.lines_read, 3u);
    EXPECT_EQ(ds.stats.malformed_skipped, 1u);
    EXPECT_EQ(ds.stats.malformed_by_reason, (Reasons{{c.reason, 1}}));
    EXPECT_EQ(UserIds(ds), (std::vector<uint64_t>{1, 9}));
    EXPECT_EQ(ds.users[1].items.size(), c.format == config::ITEM_LINES ? 2u : 1u);
  }
}

TEST(SequenceMalformed, SkipCountsSeveralReasonsInReasonOrder) {
  const std::string content = "1 2 3\n0 1\n\n5 x\n5\n1 4 5\n6 7 8\n";
  const SequenceDataset ds = Read(content, config::ITEM_LINES, 1, config::SKIP);
  EXPECT_EQ(ds.stats.lines_read, 7u);
  EXPECT_EQ(ds.stats.malformed_skipped, 5u);
  EXPECT_EQ(ds.stats.malformed_by_reason,
            (Reasons{{"wrong field count", 2}, {"bad integer", 1}, {"zero id", 1}, {"duplicate user", 1}}));
  EXPECT_EQ(UserIds(ds), (std::vector<uint64_t>{1, 6}));
  EXPECT_EQ(ds.users[0].items, (std::vector<uint64_t>{2, 3}));  // the first line of user 1 wins
}

TEST(SequenceMalformed, OverlongItemLine) {
  std::string line = "5";
  while (line.size() <= kItemLinesMaxLineBytes) line += " 123456789";
  const std::string content = "1 2 3\n" + line + "\n2 4 5\n";
  const std::string msg = ErrorOf([&] { Read(content, config::ITEM_LINES); });
  EXPECT_NE(msg.find(":2: overlong line: line has " + std::to_string(line.size()) + " bytes"), std::string::npos)
      << msg;
  const SequenceDataset ds = Read(content, config::ITEM_LINES, 1, config::SKIP);
  EXPECT_EQ(ds.stats.malformed_by_reason, (Reasons{{"overlong line", 1}}));
  EXPECT_EQ(UserIds(ds), (std::vector<uint64_t>{1, 2}));
}

TEST(SequenceMalformed, CsvNeedsItsHeaderUnderEveryPolicy) {
  for (auto policy : {config::ERROR, config::SKIP}) {
    std::string msg = ErrorOf([&] { Read("1,2,3,4\n", config::MOVIELENS_CSV, 1, policy); });
    EXPECT_NE(msg.find(":1: a MOVIELENS_CSV file starts with the header 'userId,movieId,rating,timestamp', got "
                       "'1,2,3,4'"),
              std::string::npos)
        << msg;
    msg = ErrorOf([&] { Read("", config::MOVIELENS_CSV, 1, policy); });
    EXPECT_NE(msg.find("got an empty file"), std::string::npos) << msg;
  }
}

TEST(SequenceMalformed, MissingFileAndNoUsersAreErrors) {
  const std::string missing = TempPath("does_not_exist.txt");
  std::string msg = ErrorOf([&] { ReadSequenceDataset(missing, config::ITEM_LINES, 3, config::ERROR); });
  EXPECT_NE(msg.find("cannot open '" + missing + "'"), std::string::npos) << msg;

  msg = ErrorOf([&] { Read("", config::ITEM_LINES, 3); });
  EXPECT_NE(msg.find("no user with at least 3 interactions"), std::string::npos) << msg;
  msg = ErrorOf([&] { Read("1 2 3\n2 4\n", config::ITEM_LINES, 3); });
  EXPECT_NE(msg.find("2 users dropped as too short"), std::string::npos) << msg;
  msg = ErrorOf([&] { Read("0 1 2 3\n", config::ITEM_LINES, 1, config::SKIP); });
  EXPECT_NE(msg.find("1 malformed skipped"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// Leave-one-out

TEST(SequenceLeaveOneOut, SplitsTheLastTwoItems) {
  UserHistory u{42, {11, 12, 13, 14, 15}, {1, 2, 3, 4, 5}};
  EXPECT_EQ(TrainingLength(u), 3u);  // 11 12 13
  EXPECT_EQ(HistoryLength(u, SequenceSplit::kValidation), 3u);
  EXPECT_EQ(HeldOutItem(u, SequenceSplit::kValidation), 14u);
  EXPECT_EQ(HistoryLength(u, SequenceSplit::kTest), 4u);
  EXPECT_EQ(HeldOutItem(u, SequenceSplit::kTest), 15u);

  UserHistory shortest{7, {1, 2, 3}, {0, 0, 0}};
  EXPECT_EQ(TrainingLength(shortest), 1u);
  EXPECT_EQ(HeldOutItem(shortest, SequenceSplit::kValidation), 2u);
  EXPECT_EQ(HeldOutItem(shortest, SequenceSplit::kTest), 3u);

  UserHistory too_short{9, {1, 2}, {0, 0}};
  const std::string msg = ErrorOf([&] { TrainingLength(too_short); });
  EXPECT_NE(msg.find("user 9 has 2 items; leave-one-out needs at least 3"), std::string::npos) << msg;
  ErrorOf([&] { HeldOutItem(too_short, SequenceSplit::kTest); });
  EXPECT_STREQ(SequenceSplitName(SequenceSplit::kValidation), "validation");
  EXPECT_STREQ(SequenceSplitName(SequenceSplit::kTest), "test");
}

// ---------------------------------------------------------------------------
// The real files: the counts the papers publish

struct RealFile {
  const char* relpath;
  config::SequenceFormat format;
  uint64_t users, interactions, max_item;
};

void ExpectPublishedCounts(const RealFile& f) {
  const SequenceDataset ds =
      ReadSequenceDataset(testing::DataDir() + "/" + f.relpath, f.format, kMinLeaveOneOutLength, config::ERROR);
  EXPECT_EQ(ds.users.size(), f.users);
  EXPECT_EQ(ds.interactions, f.interactions);
  EXPECT_EQ(ds.max_item_id, f.max_item);
  EXPECT_EQ(ds.num_items, f.max_item);  // ids are dense 1..max
  EXPECT_EQ(ds.users_dropped, 0u);
  EXPECT_EQ(ds.stats.malformed_skipped, 0u);
  uint64_t sum = 0;
  for (size_t i = 0; i < ds.users.size(); ++i) {
    const UserHistory& h = ds.users[i];
    sum += h.items.size();
    ASSERT_EQ(h.items.size(), h.timestamps.size());
    if (i > 0) {
      ASSERT_LT(ds.users[i - 1].user, h.user);
    }
    for (size_t j = 1; j < h.timestamps.size(); ++j) ASSERT_LE(h.timestamps[j - 1], h.timestamps[j]) << h.user;
  }
  EXPECT_EQ(sum, f.interactions);
}

TEST(SequenceRealData, AmazonBeauty) {
  SHARDREC_REQUIRE_DATA("amazon-seq/Beauty.txt");
  ExpectPublishedCounts({"amazon-seq/Beauty.txt", config::ITEM_LINES, 22363, 198502, 12101});
  // The file's first line is "1 1 2 3 4 5".
  const SequenceDataset ds =
      ReadSequenceDataset(testing::DataDir() + "/amazon-seq/Beauty.txt", config::ITEM_LINES, 3, config::ERROR);
  EXPECT_EQ(ds.users[0].user, 1u);
  EXPECT_EQ(ds.users[0].items, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(ds.has_timestamps);
}

TEST(SequenceRealData, AmazonSports) {
  SHARDREC_REQUIRE_DATA("amazon-seq/Sports_and_Outdoors.txt");
  ExpectPublishedCounts({"amazon-seq/Sports_and_Outdoors.txt", config::ITEM_LINES, 35598, 296337, 18357});
}

TEST(SequenceRealData, MovieLens100K) {
  SHARDREC_REQUIRE_DATA("movielens-100k/u.data");
  ExpectPublishedCounts({"movielens-100k/u.data", config::MOVIELENS_TAB, 943, 100000, 1682});
  const SequenceDataset ds =
      ReadSequenceDataset(testing::DataDir() + "/movielens-100k/u.data", config::MOVIELENS_TAB, 3, config::ERROR);
  EXPECT_TRUE(ds.has_timestamps);
  EXPECT_EQ(ds.users.front().user, 1u);
  EXPECT_EQ(ds.users.back().user, 943u);
  EXPECT_EQ(ds.stats.lines_read, 100000u);
}

}  // namespace
}  // namespace shardrec
